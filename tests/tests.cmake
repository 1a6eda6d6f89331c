# Unit tests: tests/unit/test_<module>.c, cmocka, one binary each.
find_package(PkgConfig REQUIRED)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  if(name MATCHES "^test_manager_")
    target_link_libraries(${name} PRIVATE sv_manager_core PkgConfig::CMOCKA)
  else()
    target_link_libraries(${name} PRIVATE startvm_core PkgConfig::CMOCKA)
  endif()
  target_compile_definitions(${name} PRIVATE
    SV_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}" SV_BINARY_DIR="${CMAKE_CURRENT_BINARY_DIR}")
  add_test(NAME unit/${name} COMMAND ${name})
  set_tests_properties(unit/${name} PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
endforeach()

# Script tests: tests/<label>/*.sh, each its own ctest process (namespaces
# must not leak between scenarios).  They get the binary and the tiny guest
# through the environment.
set(SV_TEST_ENV
  STARTVM=$<TARGET_FILE:startvm>
  SV_SOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}
  SV_BINARY_DIR=${CMAKE_CURRENT_BINARY_DIR}
  SV_TINY_DIR=${CMAKE_CURRENT_BINARY_DIR}/tiny)

# The tiny guest is built once per test run (fixture).
add_test(NAME fixture/tiny_image
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/images/tiny/build.sh ${CMAKE_CURRENT_BINARY_DIR}/tiny)
set_tests_properties(fixture/tiny_image PROPERTIES FIXTURES_SETUP tiny LABELS "e2e;netns;podman;manager;density;browser")

# density: many guests at once (tests/density), the longest tests.
foreach(label cli e2e netns podman manager density browser)
  file(GLOB scripts CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/${label}/*.sh)
  foreach(script ${scripts})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME ${label}/${name} COMMAND bash ${script})
    set_tests_properties(${label}/${name} PROPERTIES
      LABELS ${label} SKIP_RETURN_CODE 77 TIMEOUT 600
      ENVIRONMENT "${SV_TEST_ENV}")
    if(NOT label STREQUAL "cli")
      set_tests_properties(${label}/${name} PROPERTIES FIXTURES_REQUIRED tiny RUN_SERIAL TRUE)
    endif()
    # density; browser: a VM booted under TCG, stopped and started again
    # through a browser.
    if(label STREQUAL "density" OR label STREQUAL "browser")
      set_tests_properties(${label}/${name} PROPERTIES TIMEOUT 900)
    endif()
  endforeach()
endforeach()
# 200 starts and 50 kills: about 4 and 3 minutes on an idle machine, three
# times that with the machine's two cores busy.
set_tests_properties(netns/churn netns/fault_kill PROPERTIES TIMEOUT 1800)

# sv-nettool: drives observe/apply_net directly for tests/netns/net_*.sh
# (found as $SV_BINARY_DIR/sv-nettool).
add_executable(sv-nettool tests/tools/sv_nettool.c)
target_link_libraries(sv-nettool PRIVATE startvm_core)
