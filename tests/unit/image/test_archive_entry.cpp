#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "image/archive_entry.hpp"

using assetctl::image::ArchiveEntry;
using assetctl::image::check_hardlink_targets;
using assetctl::image::classify_entry;
using assetctl::image::EntryDecision;
using assetctl::image::RawEntry;
using Catch::Matchers::Contains;

namespace {

using Verdict = EntryDecision::Verdict;
using Seen = std::map<std::string, std::size_t, std::less<>>;

RawEntry file(std::string name, std::int64_t size = 3) {
    RawEntry raw;
    raw.name = std::move(name);
    raw.size = size;
    return raw;
}

RawEntry of_kind(std::string name, RawEntry::Kind kind) {
    RawEntry raw = file(std::move(name));
    raw.kind = kind;
    return raw;
}

RawEntry symlink_entry(std::string name, std::string target) {
    RawEntry raw = of_kind(std::move(name), RawEntry::Kind::symlink);
    raw.symlink = std::move(target);
    return raw;
}

RawEntry hardlink_entry(std::string name, std::string target) {
    RawEntry raw = file(std::move(name), 0);
    raw.hardlink = std::move(target);
    return raw;
}

ArchiveEntry accepted(const RawEntry& raw) {
    const EntryDecision decision = classify_entry(raw, {});
    REQUIRE(decision.verdict == Verdict::accept);
    return decision.entry;
}

// The refusal reason; fails the test when the entry is accepted or skipped.
std::string refusal(const RawEntry& raw, const Seen& seen = {}) {
    const EntryDecision decision = classify_entry(raw, seen);
    REQUIRE(decision.verdict == Verdict::refuse);
    return decision.reason;
}

}  // namespace

TEST_CASE("classify_entry accepts a file, normalising its name", "[archive_entry]") {
    const EntryDecision decision = classify_entry(file("./blobs//sha256/./abc", 42), {});
    REQUIRE(decision.verdict == Verdict::accept);
    CHECK(decision.entry.name == "blobs/sha256/abc");
    CHECK(decision.entry.type == ArchiveEntry::Type::file);
    CHECK(decision.entry.size == 42);
}

TEST_CASE("classify_entry skips the root folder", "[archive_entry]") {
    CHECK(classify_entry(of_kind("./", RawEntry::Kind::directory), {}).verdict == Verdict::skip);
}

TEST_CASE("classify_entry refuses an absolute name", "[archive_entry]") {
    CHECK(refusal(file("/etc/passwd")) == "has an absolute name");
}

TEST_CASE("classify_entry refuses a '..' component", "[archive_entry]") {
    CHECK_THAT(refusal(file("blobs/../../escape")), Contains("'..' component"));
    CHECK_THAT(refusal(of_kind("a/../", RawEntry::Kind::directory)), Contains("'..' component"));
}

TEST_CASE("classify_entry refuses a sparse file", "[archive_entry]") {
    RawEntry raw = file("sparse");
    raw.sparse = true;
    CHECK_THAT(refusal(raw), Contains("sparse file"));
}

TEST_CASE("classify_entry refuses a hardlink leaving the archive", "[archive_entry]") {
    CHECK(refusal(hardlink_entry("hard", "../outside")) ==
          "is a hardlink to '../outside', which is outside the archive");
    CHECK_THAT(refusal(hardlink_entry("hard", "/etc/passwd")), Contains("outside the archive"));
    CHECK_THAT(refusal(hardlink_entry("hard", "./")), Contains("outside the archive"));
}

TEST_CASE("classify_entry keeps a hardlink's normalised target", "[archive_entry]") {
    const EntryDecision decision = classify_entry(hardlink_entry("hard", "./a//b"), {});
    REQUIRE(decision.verdict == Verdict::accept);
    CHECK(decision.entry.type == ArchiveEntry::Type::hardlink);
    CHECK(decision.entry.link_target == "a/b");
}

TEST_CASE("classify_entry refuses a negative size", "[archive_entry]") {
    CHECK(refusal(file("f", -1)) == "has a negative size");
}

TEST_CASE("classify_entry refuses a symlink without a target", "[archive_entry]") {
    CHECK(refusal(symlink_entry("link", "")) == "is a symlink without a target");
}

TEST_CASE("classify_entry refuses a symlink to an absolute path", "[archive_entry]") {
    CHECK(refusal(symlink_entry("link", "/etc/shadow")) ==
          "is a symlink to the absolute path '/etc/shadow'");
}

TEST_CASE("classify_entry refuses a symlink leaving the archive", "[archive_entry]") {
    CHECK_THAT(refusal(symlink_entry("blobs/link", "../../etc/shadow")),
               Contains("which leaves the archive"));
    CHECK_THAT(refusal(symlink_entry("a/b/link", "../x/../../../y")),
               Contains("which leaves the archive"));
}

TEST_CASE("classify_entry resolves a symlink against its folder", "[archive_entry]") {
    const EntryDecision decision = classify_entry(symlink_entry("a/b/link", "../c/./d"), {});
    REQUIRE(decision.verdict == Verdict::accept);
    CHECK(decision.entry.type == ArchiveEntry::Type::symlink);
    CHECK(decision.entry.link_target == "a/c/d");
}

TEST_CASE("classify_entry refuses device nodes", "[archive_entry]") {
    CHECK(refusal(of_kind("dev/null", RawEntry::Kind::char_device)) == "is a device node");
    CHECK(refusal(of_kind("dev/sda", RawEntry::Kind::block_device)) == "is a device node");
}

TEST_CASE("classify_entry refuses a FIFO", "[archive_entry]") {
    CHECK(refusal(of_kind("pipe", RawEntry::Kind::fifo)) == "is a FIFO");
}

TEST_CASE("classify_entry refuses a socket", "[archive_entry]") {
    CHECK(refusal(of_kind("sock", RawEntry::Kind::socket)) == "is a socket");
}

TEST_CASE("classify_entry refuses other entry types", "[archive_entry]") {
    CHECK(refusal(of_kind("odd", RawEntry::Kind::other)) == "has an unsupported entry type");
}

TEST_CASE("classify_entry refuses an empty name that is not a folder", "[archive_entry]") {
    CHECK(refusal(file("./")) == "has an empty name");
}

TEST_CASE("classify_entry refuses a name already seen", "[archive_entry]") {
    const Seen seen{{"manifest.json", 0}};
    CHECK(refusal(file("./manifest.json"), seen) ==
          "appears twice (as 'manifest.json'), so which one is meant is ambiguous");
    CHECK_THAT(refusal(of_kind("manifest.json/", RawEntry::Kind::directory), seen),
               Contains("appears twice"));
    CHECK(classify_entry(file("other"), seen).verdict == Verdict::accept);
}

TEST_CASE("classify_entry checks the name before the type", "[archive_entry]") {
    CHECK(refusal(of_kind("/dev/null", RawEntry::Kind::char_device)) == "has an absolute name");
}

TEST_CASE("check_hardlink_targets refuses a hardlink to a name not in the archive",
          "[archive_entry]") {
    std::vector<ArchiveEntry> entries{accepted(file("a")),
                                      accepted(hardlink_entry("hard", "not-there"))};
    const Seen by_name{{"a", 0}, {"hard", 1}};
    const auto refused = check_hardlink_targets(entries, by_name);
    REQUIRE(refused);
    CHECK(refused->entry == "hard");
    CHECK(refused->reason == "is a hardlink to 'not-there', which is not in the archive");
    entries[1] = accepted(hardlink_entry("hard", "a"));
    CHECK_FALSE(check_hardlink_targets(entries, by_name));
}
