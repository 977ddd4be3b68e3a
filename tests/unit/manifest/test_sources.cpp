#include <algorithm>

#include <catch2/catch.hpp>

#include "manifest/assembly.hpp"
#include "manifest/asset_manifest.hpp"
#include "manifest/errors.hpp"
#include "manifest/sources.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl::manifest;
using assetctl::test::fixtures_dir;
using assetctl::test::TempDir;
namespace fs = std::filesystem;

TEST_CASE("cdk_tarball_path recognises both forms CDK writes") {
    CHECK(cdk_tarball_path({"sh", "-c",
                            "docker load -i \"$1\" | tail -n 1 | sed \"s/Loaded image[^:]*: //g\"",
                            "cdk-tarball-image-asset", "asset.abc.tar"}) == "asset.abc.tar");
    // Older CDK versions inlined the path into the script.
    CHECK(cdk_tarball_path(
              {"sh", "-c", "docker load -i asset.abc.tar | tail -n 1 | sed \"s/x//g\""}) ==
          "asset.abc.tar");
    CHECK(cdk_tarball_path({"sh", "-c", "docker load -i \"dir with space/a.tar\" | tail -n 1"}) ==
          "dir with space/a.tar");
    CHECK_FALSE(cdk_tarball_path({"./build.sh"}).has_value());
    CHECK_FALSE(cdk_tarball_path({"sh", "-c", "echo hi"}).has_value());
    CHECK_FALSE(cdk_tarball_path({"sh", "-c", "docker load -i \"$1\"", "other-marker", "a.tar"})
                    .has_value());
}

TEST_CASE("every image source of the fixture checks out, nested ones included") {
    const auto assembly = load_assembly(fixtures_dir() / "cdk-app/cdk.out");
    int directories = 0;
    for (const auto& manifest : assembly.manifests) {
        for (const auto& asset : manifest.docker_images) {
            const auto location = check_docker_source(manifest.origin, asset, assembly.root);
            if (asset.source.directory) {
                REQUIRE(location.has_value());
                CHECK(fs::is_regular_file(location->dockerfile));
                ++directories;
            } else {
                CHECK_FALSE(location.has_value());
            }
        }
    }
    CHECK(directories == 7);  // 8 images, one of them a tarball; the shared one counts twice
}

TEST_CASE("sources that cannot be used are refused before anything runs") {
    TempDir dir;
    const fs::path root = dir.mkdir("cdk.out");
    dir.mkdir("cdk.out/asset.good");
    dir.write("cdk.out/asset.good/Dockerfile", "FROM scratch\n");
    dir.mkdir("elsewhere");
    dir.write("elsewhere/Dockerfile", "FROM scratch\n");
    dir.write("cdk.out/asset.file", "not a folder");

    const auto check = [&](const std::string& source) {
        const auto manifest =
            parse_asset_manifest(R"({"version": "55.0.0", "dockerImages": {"img": {"source": )" +
                                     source + R"(, "destinations": {}}}})",
                                 {root / "S.assets.json", root, "", ""});
        return check_docker_source(manifest.origin, manifest.docker_images.at(0), root);
    };
    const auto expect_error = [&](const std::string& source, const std::string& json_path,
                                  const std::string& detail) {
        try {
            check(source);
            FAIL("no error for " << source);
        } catch (const ManifestError& e) {
            CHECK(e.file() == root / "S.assets.json");
            CHECK(e.json_path() == json_path);
            CHECK_THAT(e.detail(), Catch::Contains(detail));
            CHECK_FALSE(e.hint().empty());
        }
    };

    CHECK(check(R"({"directory": "asset.good"})")->context == root / "asset.good");
    expect_error(R"({"directory": "asset.missing"})", "dockerImages.img.source.directory",
                 "build context 'asset.missing' does not exist");
    expect_error(R"({"directory": "asset.file"})", "dockerImages.img.source.directory",
                 "is not a folder");
    expect_error(R"({"directory": "../elsewhere"})", "dockerImages.img.source.directory",
                 "is outside the cloud assembly");
    expect_error(R"({"directory": ")" + (dir.path() / "elsewhere").string() + R"("})",
                 "dockerImages.img.source.directory", "is outside the cloud assembly");
    expect_error(R"({"directory": "asset.good", "dockerFile": "Dockerfile.prod"})",
                 "dockerImages.img.source.dockerFile",
                 "Dockerfile 'Dockerfile.prod' not found in build context 'asset.good'");
    dir.mkdir("cdk.out/asset.nodockerfile");
    expect_error(R"({"directory": "asset.nodockerfile"})", "dockerImages.img.source.dockerFile",
                 "Dockerfile 'Dockerfile' (the default) not found");
    expect_error(
        R"({"executable": ["sh", "-c", "docker load -i \"$1\"", "cdk-tarball-image-asset", "asset.x.tar"]})",
        "dockerImages.img.source.executable", "image tarball 'asset.x.tar' not found");
    expect_error(
        R"({"executable": ["sh", "-c", "docker load -i \"$1\"", "cdk-tarball-image-asset", "../x.tar"]})",
        "dockerImages.img.source.executable", "is outside the cloud assembly");
    // Other executables are the user's business; nothing to check before running them.
    CHECK_FALSE(check(R"({"executable": ["./make-image.sh"]})").has_value());
}

TEST_CASE("a symlink out of the assembly counts as outside") {
    TempDir dir;
    const fs::path root = dir.mkdir("cdk.out");
    dir.write("elsewhere/Dockerfile", "FROM scratch\n");
    fs::create_directory_symlink(dir.path() / "elsewhere", root / "asset.link");
    const auto manifest = parse_asset_manifest(
        R"({"version": "55.0.0", "dockerImages": {"img": {"source": {"directory": "asset.link"},
            "destinations": {}}}})",
        {root / "S.assets.json", root, "", ""});
    CHECK_THROWS_AS(check_docker_source(manifest.origin, manifest.docker_images.at(0), root),
                    ManifestError);
}

TEST_CASE("image archives: CDK tarballs, tar files and OCI layouts named as directory") {
    TempDir dir;
    const fs::path root = dir.mkdir("cdk.out");
    dir.write("cdk.out/images.tar", "tar");
    dir.write("cdk.out/image.tar.gz", "gz");
    dir.write("cdk.out/image.tgz", "tgz");
    dir.write("cdk.out/layout/oci-layout", R"({"imageLayoutVersion": "1.0.0"})");
    dir.write("cdk.out/context/oci-layout", "{}");  // a build context that has one
    dir.write("cdk.out/context/Dockerfile", "FROM scratch\n");

    const auto parse = [&](const std::string& source) {
        return parse_asset_manifest(R"({"version": "55.0.0", "dockerImages": {"img": {"source": )" +
                                        source + R"(, "destinations": {}}}})",
                                    {root / "S.assets.json", root, "", ""});
    };
    const auto archive = [&](const std::string& source) {
        const auto manifest = parse(source);
        return image_archive_source(manifest.origin, manifest.docker_images.at(0).source);
    };

    const auto cdk = archive(
        R"({"executable": ["sh", "-c", "docker load -i \"$1\"", "cdk-tarball-image-asset", "images.tar"]})");
    REQUIRE(cdk);
    CHECK(cdk->path == root / "images.tar");
    CHECK(cdk->last_loaded);  // what `docker load | tail -n 1` reports
    CHECK_FALSE(cdk->tag);

    for (const char* name : {"images.tar", "image.tar.gz", "image.tgz", "layout"}) {
        INFO(name);
        const auto plain = archive(std::string(R"({"directory": ")") + name + R"("})");
        REQUIRE(plain);
        CHECK(plain->path == root / name);
        CHECK_FALSE(plain->last_loaded);
    }
    const auto tagged = archive(R"({"directory": "images.tar#app:v2"})");
    REQUIRE(tagged);
    CHECK(tagged->path == root / "images.tar");
    CHECK(tagged->tag == std::optional<std::string>("app:v2"));

    CHECK_FALSE(archive(R"({"directory": "context"})"));  // a Dockerfile: a build
    CHECK_FALSE(archive(R"({"executable": ["./make-image.sh"]})"));

    // A named archive that is not there is refused before anything runs.
    const auto missing = parse(R"({"directory": "gone.tar"})");
    CHECK_THROWS_WITH(check_docker_source(missing.origin, missing.docker_images.at(0), root),
                      Catch::Contains("image archive 'gone.tar' not found"));

    // The engine is needed only when some image is not an archive.
    Selection only_archives;
    only_archives.docker_images.push_back(
        {parse(R"({"directory": "images.tar"})").origin, 0,
         parse(R"({"directory": "images.tar"})").docker_images.at(0)});
    CHECK_FALSE(needs_engine(only_archives));
    Selection with_build = only_archives;
    with_build.docker_images.push_back({parse(R"({"directory": "context"})").origin, 0,
                                        parse(R"({"directory": "context"})").docker_images.at(0)});
    CHECK(needs_engine(with_build));
}

TEST_CASE("a missing source is a value naming where it was looked for") {
    TempDir dir;
    const fs::path root = dir.mkdir("cdk.out");
    dir.write("cdk.out/asset.good/Dockerfile", "FROM scratch\n");
    dir.mkdir("cdk.out/asset.nodockerfile");
    dir.write("cdk.out/asset.data.txt", "data");
    dir.mkdir("cdk.out/asset.folder");
    const auto manifest = parse_asset_manifest(R"({"version": "55.0.0",
        "dockerImages": {
          "good": {"source": {"directory": "asset.good"}, "destinations": {}},
          "gone": {"source": {"directory": "asset.gone"}, "destinations": {}},
          "nodf": {"source": {"directory": "asset.nodockerfile"}, "destinations": {}},
          "tar": {"source": {"executable": ["sh", "-c", "docker load -i \"$1\"",
                  "cdk-tarball-image-asset", "asset.x.tar"]}, "destinations": {}},
          "away": {"source": {"directory": "../elsewhere"}, "destinations": {}}},
        "files": {
          "data": {"source": {"path": "asset.data.txt"}, "destinations": {}},
          "lost": {"source": {"path": "asset.lost.zip"}, "destinations": {}},
          "dir": {"source": {"path": "asset.folder"}, "destinations": {}},
          "zipdir": {"source": {"path": "asset.folder", "packaging": "zip"}, "destinations": {}},
          "run": {"source": {"executable": ["./make.sh"]}, "destinations": {}}}})",
                                               {root / "S.assets.json", root, "", ""});
    const auto image = [&](const std::string& id) {
        const auto& images = manifest.docker_images;
        const auto it = std::find_if(images.begin(), images.end(),
                                     [&](const auto& asset) { return asset.id == id; });
        REQUIRE(it != images.end());
        return find_missing_docker_source(manifest.origin, *it, root);
    };
    const auto file = [&](const std::string& id) {
        const auto& files = manifest.files;
        const auto it = std::find_if(files.begin(), files.end(),
                                     [&](const auto& asset) { return asset.id == id; });
        REQUIRE(it != files.end());
        return find_missing_file_source(manifest.origin, *it, root);
    };

    CHECK_FALSE(image("good"));
    const auto gone = image("gone");
    REQUIRE(gone);
    CHECK(gone->manifest == root / "S.assets.json");
    CHECK(gone->json_path == "dockerImages.gone.source.directory");
    CHECK(gone->path == root / "asset.gone");
    // The same error check_docker_source throws.
    const auto error = gone->error();
    CHECK(error.exit_code() == assetctl::util::ExitCode::input);
    CHECK(error.json_path() == gone->json_path);
    CHECK_THAT(error.detail(), Catch::Contains("build context 'asset.gone' does not exist"));
    CHECK_FALSE(error.hint().empty());

    const auto nodf = image("nodf");
    REQUIRE(nodf);
    CHECK(nodf->json_path == "dockerImages.nodf.source.dockerFile");
    CHECK(nodf->path == root / "asset.nodockerfile" / "Dockerfile");
    REQUIRE(image("tar"));
    CHECK(image("tar")->path == root / "asset.x.tar");
    // Outside the assembly is the manifest's fault, not the copy's: still thrown.
    CHECK_THROWS_AS(image("away"), ManifestError);

    CHECK_FALSE(file("data"));
    REQUIRE(file("lost"));
    CHECK(file("lost")->json_path == "files.lost.source.path");
    CHECK(file("lost")->path == root / "asset.lost.zip");
    REQUIRE(file("dir"));  // a folder where packaging `file` needs a file
    CHECK_THAT(file("dir")->detail, Catch::Contains("is not a file"));
    CHECK_FALSE(file("zipdir"));
    CHECK_FALSE(file("run"));
}
