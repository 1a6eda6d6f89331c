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
set_tests_properties(fixture/tiny_image PROPERTIES FIXTURES_SETUP tiny LABELS "e2e;netns;podman;manager;density;browser;soak")

# Scheduling (scripts/test.sh runs ctest -j2 on a 2-core machine): a
# guest test takes one processor (one TCG vCPU busy); what must not
# overlap says so with a RESOURCE_LOCK instead of RUN_SERIAL:
#   podman   one podman at a time: the podman, manager and browser tests
#            share podman's event log, its image store and the host's
#            IPv6 forwarding sysctl (a podman network with --ipv6 sets it)
# The density tests take both processors (PROCESSORS 2): many guests at
# once, nothing beside them.
# Order: ctest starts tests in this order where it has no timings of an
# earlier run; the podman-locked chain (about 7 minutes, one at a time)
# goes first so that the other processor works through e2e and netns
# beside it, and density, which needs both, comes last.
foreach(label cli podman manager browser e2e netns density)
  file(GLOB scripts CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/${label}/*.sh)
  foreach(script ${scripts})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME ${label}/${name} COMMAND bash ${script})
    set_tests_properties(${label}/${name} PROPERTIES
      LABELS ${label} SKIP_RETURN_CODE 77 TIMEOUT 600
      ENVIRONMENT "${SV_TEST_ENV}")
    if(NOT label STREQUAL "cli")
      set_tests_properties(${label}/${name} PROPERTIES FIXTURES_REQUIRED tiny PROCESSORS 1)
    endif()
    # (A manager test on the fake Docker API, tests/tools/fake_docker.py,
    # uses no podman: it needs no lock.)
    if(label MATCHES "^(podman|manager|browser)$")
      file(READ ${script} text)
      if(text MATCHES "mgr_podman_service|podman_images|mgr_images")
        set_tests_properties(${label}/${name} PROPERTIES RESOURCE_LOCK podman)
      endif()
    endif()
    if(label STREQUAL "density")
      set_tests_properties(${label}/${name} PROPERTIES PROCESSORS 2)
    endif()
  endforeach()
endforeach()

# The soak label: the full-size runs of the tests that repeat a scenario
# (scripts/test.sh --soak; run before changing the handoff, the
# supervisor or the manager's event loop).  The default run keeps enough
# of each to catch a leak or a wrong resume: churn's first and last real
# cycles still compare fds, namespace dumps and files; fault_kill's 20
# rounds still sweep the start's window (its phase check needs 20); four
# guests still exercise density's every-peer ping and simultaneous stop.
function(sv_soak label name small full)
  set_property(TEST ${label}/${name} APPEND PROPERTY ENVIRONMENT ${small})
  add_test(NAME soak/${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/${label}/${name}.sh)
  # 200 starts and 50 kills: about 4 and 3 minutes on an idle machine.
  set_tests_properties(soak/${name} PROPERTIES
    LABELS soak SKIP_RETURN_CODE 77 TIMEOUT 1800 FIXTURES_REQUIRED tiny PROCESSORS 2
    ENVIRONMENT "${SV_TEST_ENV};${full}")
endfunction()
sv_soak(netns churn SV_CHURN_CYCLES=30 SV_CHURN_CYCLES=200)
sv_soak(netns fault_kill SV_KILL_ROUNDS=20 SV_KILL_ROUNDS=50)
sv_soak(density vm_together SV_DENSITY_N=4 SV_DENSITY_N=16)

# sv-nettool: drives observe/apply_net directly for tests/netns/net_*.sh
# (found as $SV_BINARY_DIR/sv-nettool).
add_executable(sv-nettool tests/tools/sv_nettool.c)
target_link_libraries(sv-nettool PRIVATE startvm_core)
