#include <catch2/catch.hpp>

#include "cli/progress_output.hpp"

using namespace assetctl;
using cli::ProgressMode;
using cli::ProgressView;

TEST_CASE("progress auto: live on a terminal, plain elsewhere, nothing beside --json") {
    const util::MapEnvironment env{{"TERM", "xterm-256color"}};
    CHECK(cli::choose_progress_view(ProgressMode::automatic, false, true, env) ==
          ProgressView::live);
    CHECK(cli::choose_progress_view(ProgressMode::automatic, false, false, env) ==
          ProgressView::plain);
    CHECK(cli::choose_progress_view(ProgressMode::automatic, true, true, env) ==
          ProgressView::none);
}

TEST_CASE("progress tty, plain and json are what they say, except tty on TERM=dumb") {
    const util::MapEnvironment env;
    CHECK(cli::choose_progress_view(ProgressMode::tty, false, false, env) == ProgressView::live);
    CHECK(cli::choose_progress_view(ProgressMode::plain, false, true, env) == ProgressView::plain);
    CHECK(cli::choose_progress_view(ProgressMode::json, true, true, env) == ProgressView::json);
    const util::MapEnvironment dumb{{"TERM", "dumb"}};
    CHECK(cli::choose_progress_view(ProgressMode::tty, false, true, dumb) == ProgressView::plain);
    CHECK(cli::choose_progress_view(ProgressMode::automatic, false, true, dumb) ==
          ProgressView::plain);
}
