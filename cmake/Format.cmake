# `ninja format` rewrites the sources with clang-format; `ninja check-format` only checks.
find_program(CLANG_FORMAT NAMES clang-format clang-format-14)
if(CLANG_FORMAT)
  file(GLOB_RECURSE WSD_FORMAT_SOURCES CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/src/*.cpp ${PROJECT_SOURCE_DIR}/src/*.hpp
    ${PROJECT_SOURCE_DIR}/tests/*.cpp ${PROJECT_SOURCE_DIR}/tests/*.hpp
    ${PROJECT_SOURCE_DIR}/bench/*.cpp)
  add_custom_target(format COMMAND ${CLANG_FORMAT} -i ${WSD_FORMAT_SOURCES}
    COMMENT "clang-format -i")
  add_custom_target(check-format COMMAND ${CLANG_FORMAT} --dry-run --Werror ${WSD_FORMAT_SOURCES}
    COMMENT "clang-format --dry-run")
endif()
