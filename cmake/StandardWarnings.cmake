# A strong warning set; -Werror when WSD_WERROR is on (CI turns it on).
add_library(standard_warnings INTERFACE)
target_compile_options(standard_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough -Wmisleading-indentation
  -Wduplicated-cond -Wduplicated-branches -Wlogical-op)
option(WSD_WERROR "Treat warnings as errors" OFF)
if(WSD_WERROR)
  target_compile_options(standard_warnings INTERFACE -Werror)
endif()
