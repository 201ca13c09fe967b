# Language level and build options shared by every target (ccache's standard_settings).
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

add_library(standard_settings INTERFACE)
target_compile_features(standard_settings INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)
target_compile_definitions(standard_settings INTERFACE _GNU_SOURCE _FILE_OFFSET_BITS=64)

option(WSD_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(WSD_SANITIZE)
  target_compile_options(standard_settings INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(standard_settings INTERFACE -fsanitize=address,undefined)
endif()

option(WSD_NATIVE "Tune for the build machine (-march=native)" OFF)
if(WSD_NATIVE)
  target_compile_options(standard_settings INTERFACE -march=native)
endif()
