# `cmake --install` and `cpack -G DEB`: the daemon, mondux(8), the systemd unit and its
# environment file, laid out as Debian 12 does (configure with -DCMAKE_INSTALL_PREFIX=/usr for
# the package: /usr/sbin/mondux, /etc/mondux/mondux.env, /lib/systemd/system/mondux.service).
include(GNUInstallDirs)

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(mx_unit_dir_default /lib/systemd/system) # Debian 12 keeps units there, not in /usr/lib
else()
  set(mx_unit_dir_default "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(MX_SYSTEMD_UNIT_DIR "${mx_unit_dir_default}" CACHE PATH "Where mondux.service is installed")
set(MX_ENV_FILE "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mondux/mondux.env")
set(mx_pkg "${CMAKE_CURRENT_SOURCE_DIR}/packaging")
set(mx_out "${CMAKE_CURRENT_BINARY_DIR}/packaging")

configure_file("${mx_pkg}/mondux.service.in" "${mx_out}/mondux.service" @ONLY)

# Debian ships manual pages and changelogs compressed, reproducibly (-n: no name, no time).
foreach(mx_doc mondux.8 changelog)
  add_custom_command(OUTPUT "${mx_out}/${mx_doc}.gz"
    COMMAND gzip -9n -c "${mx_pkg}/${mx_doc}" > "${mx_out}/${mx_doc}.gz"
    DEPENDS "${mx_pkg}/${mx_doc}" VERBATIM)
endforeach()
add_custom_target(mx_docs ALL DEPENDS "${mx_out}/mondux.8.gz" "${mx_out}/changelog.gz")

# A daemon with a section-8 page lives in sbin.
install(TARGETS mondux RUNTIME DESTINATION "${CMAKE_INSTALL_SBINDIR}")
install(FILES "${mx_out}/mondux.8.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man8")
install(FILES "${mx_out}/mondux.service" DESTINATION "${MX_SYSTEMD_UNIT_DIR}")
# Root's only: it may hold the database password and API keys (systemd reads it as root).
install(FILES "${mx_pkg}/mondux.env" DESTINATION "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mondux"
  PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES "${mx_pkg}/copyright" "${mx_out}/changelog.gz"
  DESTINATION "${CMAKE_INSTALL_DOCDIR}")
install(FILES "${mx_pkg}/lintian-overrides" DESTINATION "${CMAKE_INSTALL_DATADIR}/lintian/overrides"
  RENAME mondux)
