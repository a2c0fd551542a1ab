# ringserve_add_runtime(<module> SOURCES ... [TARGET <target>] [LIBS ...] [OUTPUT_DIRECTORY <dir>])
#
# Builds a runtime plugin: a shared library named <module>.so (the `<module>` part of
# `implementation: "<module>.<Class>"`) that links the SDK statically and exports only the
# `ringserve_*` entry points (everything else is hidden, so two plugins loaded into one worker
# never see each other's symbols). The target is <module> unless TARGET names another.
# Hidden visibility alone is not enough: libstdc++ template instantiations keep default
# visibility, so a version script makes everything but ringserve_* local.
function(ringserve_add_runtime module)
  set(exports ${CMAKE_BINARY_DIR}/ringserve-runtime-exports.map)
  if(NOT EXISTS ${exports})
    file(WRITE ${exports} "{\n  global: ringserve_*;\n  local: *;\n};\n")
  endif()
  cmake_parse_arguments(R "" "TARGET;OUTPUT_DIRECTORY" "SOURCES;LIBS" ${ARGN})
  if(NOT R_TARGET)
    set(R_TARGET ${module})
  endif()
  add_library(${R_TARGET} MODULE ${R_SOURCES})
  set_target_properties(${R_TARGET} PROPERTIES
    PREFIX "" OUTPUT_NAME ${module}
    CXX_VISIBILITY_PRESET hidden C_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${R_TARGET} PRIVATE ringserve::sdk ${R_LIBS})
  target_link_options(${R_TARGET} PRIVATE -Wl,--version-script=${exports})
  set_property(TARGET ${R_TARGET} APPEND PROPERTY LINK_DEPENDS ${exports})
  if(R_OUTPUT_DIRECTORY)
    set_target_properties(${R_TARGET} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${R_OUTPUT_DIRECTORY})
  endif()
endfunction()
