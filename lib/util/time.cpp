#include "util/time.hpp"

#include <charconv>
#include <ctime>

namespace assetctl::util {
namespace {

bool read_int(std::string_view& text, std::size_t digits, int& out) {
    if (text.size() < digits) {
        return false;
    }
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, out);
    if (ec != std::errc() || ptr != text.data() + digits) {
        return false;
    }
    text.remove_prefix(digits);
    return true;
}

bool expect(std::string_view& text, char c) {
    if (text.empty() ||
        (text.front() != c && !(c == 'T' && (text.front() == 't' || text.front() == ' ')))) {
        return false;
    }
    text.remove_prefix(1);
    return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_int(text, 4, year) || !expect(text, '-') || !read_int(text, 2, month) ||
        !expect(text, '-') || !read_int(text, 2, day) || !expect(text, 'T') ||
        !read_int(text, 2, hour) || !expect(text, ':') || !read_int(text, 2, minute) ||
        !expect(text, ':') || !read_int(text, 2, second)) {
        return std::nullopt;
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }
    // system_clock counts nanoseconds in 64 bits: about 1678 to 2262. A year outside that would
    // overflow (found by fuzz_credential_documents); no AWS answer has one.
    if (year < k_earliest_year || year > k_latest_year) {
        return std::nullopt;
    }
    std::chrono::nanoseconds fraction{0};
    if (!text.empty() && text.front() == '.') {
        text.remove_prefix(1);
        long long scale = 100'000'000;
        std::size_t digits = 0;
        while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
            fraction += std::chrono::nanoseconds((text.front() - '0') * scale);
            scale /= 10;
            text.remove_prefix(1);
            ++digits;
        }
        if (digits == 0) {
            return std::nullopt;
        }
    }
    int offset_minutes = 0;
    if (!text.empty() && (text.front() == 'Z' || text.front() == 'z')) {
        text.remove_prefix(1);
    } else if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
        const int sign = text.front() == '-' ? -1 : 1;
        text.remove_prefix(1);
        int off_hours = 0, off_minutes = 0;
        if (!read_int(text, 2, off_hours) || !expect(text, ':') ||
            !read_int(text, 2, off_minutes)) {
            return std::nullopt;
        }
        offset_minutes = sign * (off_hours * 60 + off_minutes);
    } else {
        return std::nullopt;
    }
    if (!text.empty()) {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{std::chrono::year(year),
                                           std::chrono::month(static_cast<unsigned>(month)),
                                           std::chrono::day(static_cast<unsigned>(day))};
    if (!date.ok()) {
        return std::nullopt;
    }
    const auto time = std::chrono::sys_days(date) + std::chrono::hours(hour) +
                      std::chrono::minutes(minute - offset_minutes) + std::chrono::seconds(second);
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(time + fraction);
}

std::string format_iso8601(std::chrono::system_clock::time_point time) {
    const std::time_t t = std::chrono::system_clock::to_time_t(time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

}  // namespace assetctl::util
