#include <algorithm>

#include <catch2/catch.hpp>

#include "report/asset_board.hpp"

using namespace assetctl;
using publish::Event;
using publish::EventType;
using report::AssetBoard;
using report::RowPhase;

namespace {

const std::string k_api = "3c8fa917aa2bb0e5c5b3e1aaf2a1ea7a01234567890abcdef0123456789abcd";
const std::string k_site = "9f00aa11bb22cc33dd44ee55ff6677889900aabbccddeeff0011223344556677";

AssetBoard two_assets() {
    return AssetBoard(
        {{k_api, "Api", false, {"prod-eu", "prod-us"}}, {k_site, "", true, {"prod-eu"}}});
}

Event event(EventType type, const std::string& asset, const std::string& destination = "") {
    Event out;
    out.type = type;
    out.asset = asset;
    out.destination = destination;
    return out;
}

Event bytes(const std::string& asset, const std::string& destination, std::uint64_t moved) {
    auto out = event(EventType::progress, asset, destination);
    out.bytes = moved;
    return out;
}

const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

}  // namespace

TEST_CASE("board rows follow the run: checking, building, pushing, done per asset") {
    auto board = two_assets();
    board.apply(event(EventType::start, k_api, "prod-eu"), t0);
    CHECK(board.rows()[0].phase == RowPhase::checking);
    CHECK(board.rows()[1].phase == RowPhase::waiting);
    board.apply(event(EventType::build, k_api), t0);
    CHECK(board.rows()[0].phase == RowPhase::building);
    board.apply(event(EventType::upload, k_api, "prod-eu"), t0);
    CHECK(board.rows()[0].phase == RowPhase::pushing);
    board.apply(event(EventType::upload, k_site, "prod-eu"), t0);
    CHECK(board.rows()[1].phase == RowPhase::uploading);  // files upload, images push

    board.apply(event(EventType::success, k_api, "prod-eu"), t0);
    CHECK(board.rows()[0].phase == RowPhase::pushing);  // one of two destinations settled
    board.apply(event(EventType::found, k_api, "prod-us"), t0);
    board.apply(event(EventType::success, k_api, "prod-us"), t0);  // found, then its success
    CHECK(board.rows()[0].phase == RowPhase::done);
    CHECK(board.rows()[0].settled.size() == 2);
}

TEST_CASE("a failed destination makes its asset's row failed once every destination settled") {
    auto board = two_assets();
    board.apply(event(EventType::fail, k_api, "prod-eu"), t0);
    CHECK_FALSE(board.rows()[0].finished());
    board.apply(event(EventType::success, k_api, "prod-us"), t0);
    CHECK(board.rows()[0].phase == RowPhase::failed);
    CHECK(board.rows()[0].failed.size() == 1);
}

TEST_CASE("bytes moved are the latest total per destination, summed per asset") {
    auto board = two_assets();
    board.apply(bytes(k_api, "prod-eu", 100), t0);
    board.apply(bytes(k_api, "prod-eu", 300), t0);
    board.apply(bytes(k_api, "prod-us", 50), t0);
    CHECK(board.rows()[0].bytes_moved() == 350);
    CHECK(board.rows()[0].phase == RowPhase::pushing);
}

TEST_CASE("events of assets the board does not know change nothing") {
    auto board = two_assets();
    board.apply(event(EventType::success, "unknown", "prod-eu"), t0);
    CHECK(board.rows()[0].phase == RowPhase::waiting);
    CHECK(board.rows()[1].phase == RowPhase::waiting);
}

TEST_CASE("board lines: a header, then one line per asset keyed by display name and short id") {
    auto board = two_assets();
    board.apply(event(EventType::start, k_api, "prod-eu"), t0);
    board.apply(bytes(k_api, "prod-eu", 3 * 1024 * 1024), t0 + std::chrono::seconds(1));
    board.apply(event(EventType::success, k_site, "prod-eu"), t0 + std::chrono::seconds(2));
    const auto lines = board.render(t0 + std::chrono::seconds(5), 200, 20);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "1/2 assets done, 3.0 MiB moved, 5.0 s");
    CHECK_THAT(lines[1], Catch::Contains("Api (3c8fa917)") && Catch::Contains("pushing") &&
                             Catch::Contains("0/2") && Catch::Contains("3.0 MiB") &&
                             Catch::Contains("5.0 s"));
    CHECK_THAT(lines[2], Catch::Contains("9f00aa11 ") && Catch::Contains("done") &&
                             Catch::Contains("1/1") && Catch::Contains("0.0 s"));
}

TEST_CASE("board lines fit the terminal: cut to its width, extra assets summed up") {
    std::vector<report::BoardAsset> assets;
    for (int i = 0; i < 10; ++i) {
        assets.push_back({"asset" + std::to_string(i) + "xxxxxxxx", "", false, {"d"}});
    }
    AssetBoard board(std::move(assets));
    board.apply(event(EventType::success, "asset0xxxxxxxx", "d"), t0);
    board.apply(event(EventType::upload, "asset7xxxxxxxx", "d"), t0);
    const auto lines = board.render(t0, 30, 4);
    REQUIRE(lines.size() == 5);                         // the header and at most 4 rows
    CHECK_THAT(lines[1], Catch::Contains("asset1xx"));  // unfinished first, in manifest order
    CHECK_THAT(lines[4], Catch::Contains("and 7 more (1 done)"));
    for (const auto& line : lines) {
        CHECK(line.size() <= 30 * 3);  // bytes; columns checked below
        CHECK(report::fit_to_width(line, 30) == line);
    }
}

TEST_CASE("a long display name is cut so the columns after it line up") {
    AssetBoard board(
        {{k_api, std::string(60, 'n'), false, {"d"}}, {k_site, "Short", false, {"d"}}});
    const auto lines = board.render(t0, 200, 20);
    REQUIRE(lines.size() == 3);
    const auto column_of = [](const std::string& line) {
        const auto bytes = line.substr(0, line.find("waiting"));
        return std::count_if(bytes.begin(), bytes.end(), [](char c) {
            return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
        });
    };
    CHECK(column_of(lines[1]) == column_of(lines[2]));
    CHECK_THAT(lines[1], Catch::Contains("n\u2026  "));
}

TEST_CASE("fit_to_width counts code points and marks a cut") {
    CHECK(report::fit_to_width("abc", 3) == "abc");
    CHECK(report::fit_to_width("abcdef", 4) == "abc\u2026");
    CHECK(report::fit_to_width("\u2713\u2713\u2713\u2713", 3) == "\u2713\u2713\u2026");
    CHECK(report::fit_to_width("abc", 0).empty());
}
