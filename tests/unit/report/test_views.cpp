#include <sstream>

#include <catch2/catch.hpp>

#include "report/json_sink.hpp"
#include "report/live_area.hpp"
#include "report/plain_sink.hpp"

using namespace assetctl;
using publish::Event;
using publish::EventType;

namespace {

Event upload_event() {
    Event event;
    event.type = EventType::upload;
    event.asset = "3c8fa917aa2bb0e5";
    event.display_name = "Api";
    event.destination = "prod-eu";
    event.message = "pushing x";
    return event;
}

}  // namespace

TEST_CASE("plain lines are keyed by display name, short id and destination") {
    std::ostringstream out;
    report::PlainEventSink sink(out, false);
    auto event = upload_event();
    sink.emit(event);
    event.display_name.clear();
    event.destination.clear();
    event.duration = std::chrono::milliseconds(1500);
    sink.emit(event);
    CHECK(out.str() == "[Api (3c8fa917) \u2192 prod-eu] pushing x\n[3c8fa917] pushing x (1.5 s)\n");
}

TEST_CASE("plain lines leave out start, debug and byte counts, and colour only when asked") {
    std::ostringstream out;
    report::PlainEventSink sink(out, false);
    for (const auto type : {EventType::start, EventType::debug, EventType::progress}) {
        auto event = upload_event();
        event.type = type;
        sink.emit(event);
    }
    CHECK(out.str().empty());
    std::ostringstream colored;
    report::PlainEventSink color_sink(colored, true);
    auto success = upload_event();
    success.type = EventType::success;
    color_sink.emit(success);
    CHECK_THAT(colored.str(), Catch::Contains("\033[32mpushing x\033[0m"));
}

TEST_CASE("JSON events carry the display name and byte counts") {
    std::ostringstream out;
    report::JsonEventSink sink(out);
    auto event = upload_event();
    event.type = EventType::progress;
    event.bytes = 42;
    sink.emit(event);
    const auto json = nlohmann::json::parse(out.str());
    CHECK(json["event"] == "progress");
    CHECK(json["displayName"] == "Api");
    CHECK(json["bytes"] == 42);
}

TEST_CASE("the live area redraws in place and prints other output above itself") {
    std::ostringstream out;
    {
        report::LiveArea area(out);
        area.show({"one", "two"});
        area.show({"three"});
        area.print_above("log line");
        area.close(false);
    }
    const std::string hide = "\033[?25l";
    const std::string below = "\033[J";  // what a shorter frame leaves is cleared
    const std::string up2 = "\r\033[2A";
    const std::string up1 = "\r\033[1A";
    CHECK(out.str() == hide + "one\033[K\ntwo\033[K\n" + below + up2 + "three\033[K\n" + below +
                           up1 + below + "log line\nthree\033[K\n\033[?25h");
}

TEST_CASE("a closed live area that erases leaves nothing of itself") {
    std::ostringstream out;
    report::LiveArea area(out);
    area.show({"one"});
    area.close(true);
    area.show({"ignored"});
    CHECK(out.str() == "\033[?25lone\033[K\n\033[J\r\033[1A\033[J\033[?25h");
}
