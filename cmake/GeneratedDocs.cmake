# The manual page assetctl(1) and the bash, zsh and fish completions, written at build time by
# the built binary from its own command-line definition (`assetctl man`, `assetctl completion
# SHELL`), so they never drift from the options it accepts; installed where man(1) and each
# shell look for them. Included from apps/assetctl/CMakeLists.txt, after the assetctl target.
#
# The same file runs in script mode (cmake -P) for each output: it runs the binary and writes
# its stdout into the file, replacing it only when the command succeeded.

if(CMAKE_SCRIPT_MODE_FILE)
  separate_arguments(arguments UNIX_COMMAND "${ARGUMENTS}")
  execute_process(COMMAND "${PROGRAM}" ${arguments}
    OUTPUT_FILE "${OUTPUT}.tmp"
    RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    file(REMOVE "${OUTPUT}.tmp")
    message(FATAL_ERROR "`${PROGRAM} ${ARGUMENTS}` failed (${result}); ${OUTPUT} not written")
  endif()
  file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
  return()
endif()

include(GNUInstallDirs)

if(CMAKE_CROSSCOMPILING)
  message(STATUS "Cross-compiling: no man page or shell completions (they need to run assetctl)")
  return()
endif()

set(assetctl_docs_dir ${CMAKE_CURRENT_BINARY_DIR})
# Where the e2e tests (tests/e2e/test_completion.py) find the generated files.
set_property(GLOBAL PROPERTY ASSETCTL_GENERATED_DOCS_DIR ${assetctl_docs_dir})

# assetctl_generated_doc(<file> <assetctl arguments...>): <file> in the build tree is what
# `assetctl <arguments>` prints.
function(assetctl_generated_doc file)
  list(JOIN ARGN " " arguments)
  add_custom_command(OUTPUT ${assetctl_docs_dir}/${file}
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:assetctl> "-DARGUMENTS=${arguments}"
            -DOUTPUT=${assetctl_docs_dir}/${file} -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    DEPENDS assetctl ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    COMMENT "Generating ${file} (assetctl ${arguments})"
    VERBATIM)
endfunction()

assetctl_generated_doc(assetctl.1 man)
assetctl_generated_doc(assetctl.bash completion bash)
assetctl_generated_doc(_assetctl completion zsh)
assetctl_generated_doc(assetctl.fish completion fish)
add_custom_target(assetctl_generated_docs ALL
  DEPENDS ${assetctl_docs_dir}/assetctl.1 ${assetctl_docs_dir}/assetctl.bash
          ${assetctl_docs_dir}/_assetctl ${assetctl_docs_dir}/assetctl.fish)

install(FILES ${assetctl_docs_dir}/assetctl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${assetctl_docs_dir}/assetctl.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME assetctl)
install(FILES ${assetctl_docs_dir}/_assetctl
  DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${assetctl_docs_dir}/assetctl.fish
  DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
