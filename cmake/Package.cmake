# `cpack -G DEB`: one binary package from the install rules (cmake/Install.cmake).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mondux)
set(CPACK_PACKAGE_VENDOR "Mondu X maintainers")
set(CPACK_PACKAGE_CONTACT "Mondu X maintainers <maintainers@users.noreply.r-seed-b99f2a2a.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "bank-account ledger served over HTTP/JSON")
# The extended description; CPack puts the summary above it and indents it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"Mondu X keeps bank accounts and an append-only journal of their deposits,
withdrawals and transfers in PostgreSQL, and serves them as an HTTP/JSON
API with idempotent retries, API keys, a teller web page, health checks
and Prometheus metrics. Money is counted in integer cents, and every
operation that moves money is one database transaction.

The package installs the daemon, its manual page and a hardened systemd
unit; the database is configured in /etc/mondux/mondux.env.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the binary's libraries, as Debian's own packages get them (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS postgresql)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")

file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles" "${MX_ENV_FILE}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles"
  "${CMAKE_CURRENT_SOURCE_DIR}/packaging/postinst"
  "${CMAKE_CURRENT_SOURCE_DIR}/packaging/prerm"
  "${CMAKE_CURRENT_SOURCE_DIR}/packaging/postrm")
include(CPack)
