# Settings every target links against: warnings, -Werror in CI, sanitizers.
add_library(assetctl_options INTERFACE)
target_compile_features(assetctl_options INTERFACE cxx_std_20)
target_compile_options(assetctl_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(ASSETCTL_WERROR)
  target_compile_options(assetctl_options INTERFACE -Werror)
endif()
if(ASSETCTL_SANITIZE)
  target_compile_options(assetctl_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(assetctl_options INTERFACE -fsanitize=address,undefined)
endif()

if(ASSETCTL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ASSETCTL_FUZZ needs clang (libFuzzer): CXX=clang++-14")
  endif()
  # Coverage for libFuzzer in every module; the fuzz targets add -fsanitize=fuzzer (fuzz/).
  target_compile_options(assetctl_options INTERFACE -fsanitize=fuzzer-no-link)
endif()

# add_assetctl_module(<name> SOURCES ... DEPENDS ...)
# One static library per folder under lib/. DEPENDS lists the modules (and packages) this one
# may use; anything else fails to link, which keeps the dependency direction honest.
function(add_assetctl_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(assetctl_${name} STATIC ${ARG_SOURCES})
  target_include_directories(assetctl_${name} PUBLIC ${PROJECT_SOURCE_DIR}/lib)
  target_link_libraries(assetctl_${name}
    PUBLIC ${ARG_DEPENDS}
    PRIVATE assetctl_options ${ARG_PRIVATE_DEPENDS})
endfunction()
