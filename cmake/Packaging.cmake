# Packages of the installed tree: whatever `cmake --install` lays out (the binary, its
# cdk-assets and docker-credential-cdk-assets links, docs, and the man page and completions
# of cmake/GeneratedDocs.cmake) goes into them. scripts/package.sh runs CPack for the .deb and
# makes the self-contained tarball and the image from the same install.
#
# The .deb is for Debian 12: installed under /usr, its Depends computed by dpkg-shlibdeps from
# the libraries the binary links (libcurl4, libssl3, libspdlog1.10...), so it installs with
# `apt-get install ./assetctl_<version>_amd64.deb` on bookworm only (other systems: the
# tarball, docs/install.md).
set(CPACK_PACKAGE_NAME assetctl)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "assetctl")
# The project has no published home or maintainer address yet: placeholders, set at configure
# time for a release (-DASSETCTL_PACKAGE_MAINTAINER=..., -DASSETCTL_PACKAGE_HOMEPAGE=...).
set(ASSETCTL_PACKAGE_MAINTAINER "assetctl maintainers <maintainers@assetctl.invalid>"
    CACHE STRING "Maintainer field of the .deb")
set(ASSETCTL_PACKAGE_HOMEPAGE "https://assetctl.invalid/"
    CACHE STRING "Homepage field of the .deb")
set(CPACK_PACKAGE_CONTACT "${ASSETCTL_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ASSETCTL_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Builds and publishes AWS CDK assets (container images to ECR, files to S3)")
set(CPACK_PACKAGE_DESCRIPTION
    "assetctl publishes the assets of an AWS CDK cloud assembly (cdk.out): it builds container images with docker or podman or pushes image tarballs itself, uploads file assets to S3, and answers the cdk-assets command line (cdk-assets and docker-credential-cdk-assets links).")
set(CPACK_PACKAGE_HOMEPAGE_URL "${ASSETCTL_PACKAGE_HOMEPAGE}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # assetctl_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Images are built by a container engine (tarball images and file assets need none); TLS to
# AWS needs the system CAs (libcurl4 only recommends them too).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "docker.io | podman, ca-certificates")

include(CPack)
