"""The benchmark harness's own parts: wrk parsing, tables, the scenario and server tables.

Fast and wrk-free; the only processes started are tiny stand-in servers on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import resource
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import apps  # noqa: E402
import loadgen  # noqa: E402
import plot  # noqa: E402
import reload_bench  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import servers  # noqa: E402
from scenarios import (  # noqa: E402
    GROUPS,
    SCENARIOS,
    SERVERS,
    MemoryScenario,
    PythonScenario,
    Target,
    WrkScenario,
    expand_scenarios,
    servers_for,
)

KEEP_ALIVE_OUTPUT = """\
Running 3s test @ http://127.0.0.1:18125/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    29.07ms   27.92ms 158.00ms   84.07%
    Req/Sec     2.16k     1.18k    4.92k    76.67%
  Latency Distribution
     50%   14.43ms
     75%   43.33ms
     90%   67.65ms
     99%  122.27ms
  6463 requests in 3.01s, 0.91MB read
Requests/sec:   2147.93
Transfer/sec:    310.49KB
"""

TIMEOUT_OUTPUT = """\
Running 3s test @ http://127.0.0.1:18124/
  1 threads and 100 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   505.92ms  288.78ms 989.54ms   57.45%
    Req/Sec    47.33      4.50    50.00     73.33%
  Latency Distribution
     50%  505.95ms
     75%  758.77ms
     90%  905.98ms
     99%  989.54ms
  142 requests in 3.01s, 25.93KB read
  Socket errors: connect 0, read 3, write 1, timeout 95
Requests/sec:     47.22
Transfer/sec:      8.62KB
"""

FAST_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   820.11us  301.00us   9.87ms   91.00%
    Req/Sec    60.12k     2.01k   63.00k    80.00%
  Latency Distribution
     50%  750.00us
     75%  900.00us
     90%    1.10ms
     99%    1.50s
  601234 requests in 10.00s, 80.00MB read
  Non-2xx or 3xx responses: 17
Requests/sec:  60123.40
Transfer/sec:      8.00MB
"""


def _report(rps: float, **overrides: float) -> loadgen.WrkReport:
    figures: dict[str, float] = dict(
        requests_per_s=rps, p50_ms=1.0, p99_ms=2.0, requests=int(rps * 10), duration_s=10.0,
        connect_errors=0, read_errors=0, write_errors=0, timeouts=0, non_2xx=0)
    figures.update(overrides)
    return loadgen.WrkReport(**figures)  # type: ignore[arg-type]


# --- wrk output parsing -------------------------------------------------------------------

def test_keep_alive_output_gives_rate_latency_and_total() -> None:
    parsed = loadgen.parse_wrk_output(KEEP_ALIVE_OUTPUT)
    assert parsed.requests_per_s == pytest.approx(2147.93)
    assert parsed.p50_ms == pytest.approx(14.43)
    assert parsed.p99_ms == pytest.approx(122.27)
    assert parsed.requests == 6463
    assert parsed.duration_s == pytest.approx(3.01)


def test_missing_error_lines_mean_zero_errors() -> None:
    parsed = loadgen.parse_wrk_output(KEEP_ALIVE_OUTPUT)
    assert parsed.socket_errors == 0
    assert parsed.non_2xx == 0


def test_socket_errors_are_read_per_kind_and_summed() -> None:
    parsed = loadgen.parse_wrk_output(TIMEOUT_OUTPUT)
    assert (parsed.connect_errors, parsed.read_errors, parsed.write_errors,
            parsed.timeouts) == (0, 3, 1, 95)
    assert parsed.socket_errors == 99


def test_non_2xx_responses_are_counted() -> None:
    assert loadgen.parse_wrk_output(FAST_OUTPUT).non_2xx == 17


def test_microsecond_and_second_latencies_become_milliseconds() -> None:
    parsed = loadgen.parse_wrk_output(FAST_OUTPUT)
    assert parsed.p50_ms == pytest.approx(0.75)
    assert parsed.p99_ms == pytest.approx(1500.0)


def test_output_without_latency_distribution_is_an_error_that_names_the_flag() -> None:
    without = "\n".join(line for line in KEEP_ALIVE_OUTPUT.splitlines() if "%" not in line)
    with pytest.raises(loadgen.WrkError, match="--latency"):
        loadgen.parse_wrk_output(without)


def test_connection_refused_output_is_an_error_quoting_wrk() -> None:
    with pytest.raises(loadgen.WrkError, match="Connection refused"):
        loadgen.parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_wrk_command_uses_one_thread_latency_and_the_scenario_headers() -> None:
    argv = loadgen.wrk_command("http://127.0.0.1:1/", connections=50, duration_s=10,
                               headers=("Connection: close",))
    assert argv[:6] == ["wrk", "-t1", "-c50", "-d10s", "--latency",
                        f"--timeout={loadgen.WRK_SOCKET_TIMEOUT_S}s"]
    assert argv[6:] == ["-H", "Connection: close", "http://127.0.0.1:1/"]


# --- formatting ---------------------------------------------------------------------------

def test_ratio_divides_treadle_by_the_peer() -> None:
    assert report.format_ratio(3000, 1000) == "3.00x"


def test_ratio_against_nothing_is_a_dash() -> None:
    assert report.format_ratio(3000, 0) == report.MISSING


@pytest.mark.parametrize(("ms", "text"), [(0.4567, "0.46 ms"), (12.34, "12.3 ms"),
                                          (2500.0, "2.50 s")])
def test_latency_is_shown_in_a_readable_unit(ms: float, text: str) -> None:
    assert report.format_ms(ms) == text


def test_markdown_table_lines_are_padded_to_one_width() -> None:
    table = report.markdown_table(["server", "req/s"], [["a", "1"], ["longer name", "12,345"]],
                                  [False, True])
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1].endswith(":|")
    assert lines[3] == "| longer name | 12,345 |"


def test_markdown_table_rejects_a_short_row() -> None:
    with pytest.raises(ValueError, match="1 cells"):
        report.markdown_table(["a", "b"], [["x"]])


def _hello() -> WrkScenario:
    scenario = SCENARIOS["hello"]
    assert isinstance(scenario, WrkScenario)
    return scenario


def test_scenario_table_has_one_ratio_column_per_treadle_variant() -> None:
    outcomes = [report.Outcome("waitress", _report(2000)),
                report.Outcome("treadle-threaded", _report(6000)),
                report.Outcome("treadle-processes", _report(8000))]
    table = report.scenario_table(_hello(), outcomes, SERVERS)
    header, _, waitress_row, *_ = table.splitlines()
    assert "treadle-threaded ÷ row" in header
    assert "treadle-processes ÷ row" in header
    cells = [cell.strip() for cell in waitress_row.strip("|").split("|")]
    assert cells[-2:] == ["3.00x", "4.00x"]


def test_scenario_table_shows_a_failed_server_and_says_why_below() -> None:
    outcomes = [report.Outcome("granian", error="did not start: exited with 1\nlong log"),
                report.Outcome("waitress", _report(2000))]
    table = report.scenario_table(_hello(), outcomes, SERVERS)
    assert "| failed |" in table.replace("  ", "")
    assert "- granian --interface wsgi --workers 2: did not start: exited with 1" in table
    assert "long log" not in table


def test_the_median_round_is_reported_whole() -> None:
    rounds = [report.Outcome("waitress", _report(300, p99_ms=9.0)),
              report.Outcome("waitress", error="exited"),
              report.Outcome("waitress", _report(100, p99_ms=1.0)),
              report.Outcome("waitress", _report(200, p99_ms=5.0))]
    chosen = report.median_round(rounds, run.outcome_rate)
    assert chosen.report is not None
    assert (chosen.report.requests_per_s, chosen.report.p99_ms) == (200, 5.0)
    failed = [report.Outcome("waitress", error="one"), report.Outcome("waitress", error="two")]
    assert report.median_round(failed, run.outcome_rate).error == "two"


def test_a_scenario_run_in_rounds_shows_every_round() -> None:
    outcomes = [report.Outcome("waitress", _report(2000), rounds=(1900.0, 2000.0, 2100.0)),
                report.Outcome("treadle-threaded", _report(6000), rounds=(6000.0,))]
    table = report.scenario_table(_hello(), outcomes, SERVERS)
    assert "every round (req/s)" in table
    assert "1,900 / 2,000 / 2,100" in table


def test_scenario_with_an_ideal_reports_percent_of_it() -> None:
    sleep = SCENARIOS["sleep"]
    assert isinstance(sleep, WrkScenario)
    table = report.scenario_table(sleep, [report.Outcome("waitress", _report(2500))], SERVERS)
    assert "% of ideal" in table
    assert " 50% " in table


def test_memory_table_shows_pss_and_rss_in_mib() -> None:
    outcomes = [report.Outcome("gunicorn-sync", memory=servers.GroupMemory(3, 65536, 33280))]
    row = report.memory_table(outcomes, SERVERS).splitlines()[2]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells == ["gunicorn sync -w 2", "3", "32.5 MiB", "64.0 MiB"]


def test_smaps_rollup_fields_are_read_in_kib() -> None:
    text = ("55cd8ded000-7ffcfb651000 ---p 00000000 00:00 0    [rollup]\n"
            "Rss:                1732 kB\nPss:                 308 kB\n")
    assert servers.parse_smaps_rollup(text) == {"Rss": 1732, "Pss": 308}


def test_latency_reached_by_timeouts_reads_as_above_the_timeout() -> None:
    all_timed_out = _report(32, p50_ms=0.0, p99_ms=0.0, requests=320, timeouts=324)
    assert report.latency_cell(all_timed_out, 0.50) == f"> {loadgen.WRK_SOCKET_TIMEOUT_S} s"
    assert report.latency_cell(all_timed_out, 0.99) == f"> {loadgen.WRK_SOCKET_TIMEOUT_S} s"


def test_a_few_timeouts_move_only_the_tail() -> None:
    some = _report(100, p50_ms=12.0, p99_ms=900.0, requests=1000, timeouts=20)
    assert report.latency_cell(some, 0.50) == "12.0 ms"
    assert report.latency_cell(some, 0.99) == f"> {loadgen.WRK_SOCKET_TIMEOUT_S} s"


def test_nested_figures_flatten_to_dotted_names() -> None:
    pairs = report.flatten({"proxy": {"attr_ns": 85.25, "calls": 1000000}, "ok": True})
    assert pairs == [("proxy.attr_ns", "85.25"), ("proxy.calls", "1,000,000"), ("ok", "True")]


def test_results_page_states_machine_command_and_each_scenario() -> None:
    page = report.render_page(
        date="2030-01-01 00:00 UTC", command="python bench/run.py --quick",
        machine={"uname": "Linux box", "cpu": "Some CPU", "cores": 2, "python": "CPython 3.11",
                 "wrk": "wrk 4.1.0", "packages": {"treadle": "0.1.0"}},
        method=["one server at a time"], servers={"waitress": SERVERS["waitress"]},
        sections=[report.Section("hello", "Plain hello", "| t |", command="wrk -t1 ...")])
    for expected in ("2030-01-01", "`python bench/run.py --quick`", "Some CPU, 2 cores",
                     "treadle 0.1.0", "## hello: Plain hello", "Load: `wrk -t1 ...`",
                     "one server at a time", "waitress --threads 4"):
        assert expected in page


# --- the tables ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items() if isinstance(s, WrkScenario)])
def test_every_load_scenario_names_apps_in_bench(name: str) -> None:
    scenario = SCENARIOS[name]
    assert isinstance(scenario, WrkScenario)
    for target in filter(None, (scenario.app, scenario.treadle_app)):
        module, _, attr = target.partition(":")
        assert (BENCH / f"{module}.py").is_file()
        assert attr.isidentifier()
        if module == "apps":
            assert callable(getattr(apps, attr))
    assert scenario.connections > 0


@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items()
                                  if isinstance(s, PythonScenario)])
def test_every_python_scenario_names_a_bench_module_with_a_deadline(name: str) -> None:
    scenario = SCENARIOS[name]
    assert isinstance(scenario, PythonScenario)
    assert scenario.module.isidentifier()
    assert 0 < scenario.expected_s <= scenario.timeout_s


@pytest.mark.parametrize("name", list(SERVERS))
def test_every_server_command_fills_host_port_and_app(name: str) -> None:
    argv = SERVERS[name].command(python="/py", host="127.0.0.1", port=8123, app="apps:hello")
    joined = " ".join(argv)
    assert argv[0] == "/py"
    assert "8123" in joined and "127.0.0.1" in joined and argv[-1] == "apps:hello"
    assert "{" not in joined


def test_every_server_says_which_module_it_needs() -> None:
    assert set(run.REQUIRES) == set(SERVERS)


def test_every_treadle_variant_is_marked_for_ratios() -> None:
    assert {n for n, s in SERVERS.items() if s.treadle} == {
        "treadle-threaded", "treadle-processes-128", "treadle-processes",
        "treadle-processes-threads"}


def test_hello_app_sends_a_body_of_its_declared_length() -> None:
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(apps.hello({}, lambda status, headers: seen.append((status, headers))))
    status, headers = seen[0]
    assert status == "200 OK"
    assert dict(headers)["Content-Length"] == str(len(body)) == "13"


# --- run length and process handling -----------------------------------------------------

def test_quick_runs_are_three_seconds_once() -> None:
    args = run.parse_args(["--quick"])
    assert (args.duration, args.rounds) == (3, 1)


def test_the_default_run_takes_turns_in_rounds() -> None:
    assert run.parse_args([]).rounds == 3
    with pytest.raises(SystemExit):
        run.parse_args(["--rounds", "0"])


def test_estimate_counts_every_round_of_load_scenarios_only() -> None:
    once, _ = run.estimate_s(["hello", "idle-memory"], ["waitress"], 10, 2)
    thrice, _ = run.estimate_s(["hello", "idle-memory"], ["waitress"], 10, 2, rounds=3)
    assert thrice - once == 2 * (12 + run.TYPICAL_START_STOP_S)


def test_worst_case_estimate_bounds_the_typical_one() -> None:
    typical, worst = run.estimate_s(list(SCENARIOS), list(SERVERS), 10, 2)
    load_runs = sum(len(servers_for(name, SERVERS)) for name, s in SCENARIOS.items()
                    if isinstance(s, WrkScenario))
    assert typical >= load_runs * 12
    assert worst > typical


def test_estimate_counts_only_the_servers_taking_part() -> None:
    typical, _ = run.estimate_s(["framework-text"], list(SERVERS), 10, 2)
    assert typical == 6 * (12 + run.TYPICAL_START_STOP_S)


def test_estimate_counts_the_reference_run() -> None:
    typical, _ = run.estimate_s(["sleep-1000"], ["waitress"], 10, 2)
    assert typical == 2 + 2 * 10 + run.TYPICAL_START_STOP_S


def test_open_files_needed_covers_the_largest_scenario_chosen() -> None:
    assert run.open_files_needed(["hello", "sleep-1000"]) == 1000 + run.NOFILE_SLACK
    assert run.open_files_needed(["proxy"]) == run.NOFILE_SLACK


def test_a_running_group_has_memory_and_a_process() -> None:
    memory = servers.group_memory(os.getpgrp())
    assert memory.processes >= 1
    assert memory.rss_kib >= memory.pss_kib > 0


def _python_server(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_server_that_exits_early_is_reported_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(servers.ServerError, match=r"exited with 3(.|\n)*boom"):
        servers.start_server(_python_server("print('boom'); raise SystemExit(3)"),
                             port=servers.free_port(), cwd=tmp_path,
                             log_path=tmp_path / "log", env={})


def test_started_server_answers_and_stopping_leaves_no_process(tmp_path: Path) -> None:
    port = servers.free_port()
    argv = [sys.executable, "-m", "http.server", "--bind", servers.HOST, str(port)]
    server = servers.start_server(argv, port=port, cwd=tmp_path, log_path=tmp_path / "log",
                                  env={})
    try:
        assert servers.answers_http(port, 2.0)
    finally:
        servers.stop_server(server)
    assert server.process.returncode is not None
    assert servers.group_pids(server.process.pid) == []


# --- scenario selection -------------------------------------------------------------------

def test_a_group_expands_to_its_members_once_and_in_order() -> None:
    assert expand_scenarios(["framework-json", "framework", "hello"]) == [
        "framework-json", "framework-text", "framework-template", "hello"]


def test_an_unknown_scenario_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: hello"):
        expand_scenarios(["helo"])


def test_command_line_accepts_a_group_name() -> None:
    args = run.parse_args(["--scenarios", "framework", "--servers", "granian"])
    assert args.scenarios == list(GROUPS["framework"])


def test_the_default_run_has_every_scenario_including_the_python_ones() -> None:
    chosen = run.parse_args([]).scenarios
    assert chosen == list(SCENARIOS)
    assert {"proxy", "routing", "import", "reload", "idle-5000", "sleep-1000",
            "framework-text", "framework-json", "framework-template"} <= set(chosen)


def test_framework_scenarios_admit_only_their_servers() -> None:
    assert servers_for("framework-template", SERVERS) == [
        "werkzeug-threaded", "gunicorn-gthread", "granian", "treadle-threaded",
        "treadle-processes", "treadle-processes-threads"]


def test_the_128_thread_variant_runs_in_the_sleep_scenarios_only() -> None:
    assert "treadle-processes-128" in servers_for("sleep", SERVERS)
    assert "treadle-processes-128" in servers_for("sleep-1000", SERVERS)
    assert "treadle-processes-128" not in servers_for("hello", SERVERS)
    assert "treadle-processes-128" not in servers_for("idle-memory", SERVERS)


def test_servers_taking_part_keep_the_order_chosen() -> None:
    assert servers_for("hello", ["waitress", "granian"]) == ["waitress", "granian"]


def test_python_scenarios_start_no_server() -> None:
    assert servers_for("proxy", SERVERS) == []


def test_every_server_and_target_a_scenario_names_exists() -> None:
    for scenario in SCENARIOS.values():
        if isinstance(scenario, WrkScenario):
            assert set(scenario.servers) <= set(SERVERS)
            assert {t.peer for t in scenario.targets} <= set(SERVERS)
    for spec in SERVERS.values():
        assert set(spec.scenarios) <= set(SCENARIOS)


def test_groups_name_known_scenarios_and_no_group_shadows_one() -> None:
    for group, members in GROUPS.items():
        assert group not in SCENARIOS
        assert set(members) <= set(SCENARIOS)


def test_scenario_paths_start_with_a_slash() -> None:
    for scenario in SCENARIOS.values():
        if isinstance(scenario, WrkScenario):
            assert scenario.path.startswith("/")
            assert not scenario.reference_path or scenario.reference_path.startswith("/")


def test_memory_scenarios_have_requests_to_settle_on() -> None:
    for scenario in SCENARIOS.values():
        if isinstance(scenario, MemoryScenario):
            assert scenario.requests > 0


# --- the apps -----------------------------------------------------------------------------

def test_sleep_app_sleeps_except_on_its_reference_path(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    for path in ("/", apps.REFERENCE_PATH):
        body = b"".join(apps.sleep({"PATH_INFO": path}, lambda status, headers: None))
        assert body == apps.HELLO_BODY
    assert slept == [apps.SLEEP_SECONDS]


def test_sleep_scenarios_use_the_apps_reference_path() -> None:
    sleep_1000 = SCENARIOS["sleep-1000"]
    assert isinstance(sleep_1000, WrkScenario)
    assert sleep_1000.reference_path == apps.REFERENCE_PATH


@pytest.mark.parametrize("name", list(GROUPS["framework"]))
def test_flask_and_treadle_apps_answer_each_framework_route_alike(name: str) -> None:
    import flask_app
    import treadle_app

    scenario = SCENARIOS[name]
    assert isinstance(scenario, WrkScenario)
    answers = []
    for module in (flask_app, treadle_app):
        response = module.app.test_client().get(scenario.path)
        answers.append((response.status_code, response.headers["Content-Type"], response.data))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200


# --- reference and target reporting -------------------------------------------------------

def _sleep_1000() -> WrkScenario:
    scenario = SCENARIOS["sleep-1000"]
    assert isinstance(scenario, WrkScenario)
    return scenario


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_reference_columns_show_what_the_cpu_allows_and_the_share_of_it() -> None:
    outcomes = [report.Outcome("waitress", _report(2000), reference=_report(8000))]
    header, _, row = report.scenario_table(_sleep_1000(), outcomes, SERVERS).splitlines()
    assert "CPU allows (/hello req/s)" in header
    cells = _cells(row)
    assert cells[6:9] == ["4%", "8,000", "25%"]


def test_missing_reference_reads_as_a_dash() -> None:
    outcomes = [report.Outcome("waitress", _report(2000))]
    row = report.scenario_table(_sleep_1000(), outcomes, SERVERS).splitlines()[2]
    assert _cells(row)[7:9] == [report.MISSING, report.MISSING]


def test_targets_say_for_each_treadle_variant_whether_met() -> None:
    outcomes = [report.Outcome("granian", _report(5000)),
                report.Outcome("treadle-threaded", _report(12000)),
                report.Outcome("treadle-processes", _report(8000))]
    lines = report.target_lines([Target("granian", 2.0)], outcomes, SERVERS)
    assert lines == ["- Target treadle >= 2x granian: treadle-threaded 2.40x (met); "
                     "treadle-processes 1.60x (missed)"]


def test_a_target_whose_peer_failed_says_there_is_no_result() -> None:
    outcomes = [report.Outcome("granian", error="exited"),
                report.Outcome("treadle-threaded", _report(12000))]
    lines = report.target_lines([Target("granian", 2.0)], outcomes, SERVERS)
    assert lines == ["- Target treadle >= 2x granian: no granian result"]


def test_framework_tables_carry_their_targets() -> None:
    scenario = SCENARIOS["framework-json"]
    assert isinstance(scenario, WrkScenario)
    outcomes = [report.Outcome("werkzeug-threaded", _report(1000)),
                report.Outcome("treadle-threaded", _report(6000))]
    table = report.scenario_table(scenario, outcomes, SERVERS)
    assert "- Target treadle >= 5x werkzeug-threaded: treadle-threaded 6.00x (met)" in table
    assert "- Target treadle >= 2x granian: no granian result" in table


def test_results_page_links_the_plot_when_there_is_one() -> None:
    args = dict(date="d", command="c", machine={}, method=[], servers={}, sections=[])
    assert "![Requests per second" not in report.render_page(**args)  # type: ignore[arg-type]
    page = report.render_page(**args, plot="../docs/bench.png")  # type: ignore[arg-type]
    assert "(../docs/bench.png)" in page


# --- Python scenarios ---------------------------------------------------------------------

def _fake_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    (tmp_path / "fake_bench.py").write_text(body, encoding="utf-8")
    monkeypatch.setattr(run, "BENCH_DIR", tmp_path)


def test_python_scenario_calls_its_function_with_quick_arguments_under_quick(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_bench(tmp_path, monkeypatch, "def figures(n=1):\n    return {'n': n}\n")
    scenario = PythonScenario("t", "fake_bench", function="figures", quick_args=(("n", 3),),
                              timeout_s=30)
    assert run.run_python(scenario, quick=False) == ({"n": 1}, None)
    assert run.run_python(scenario, quick=True) == ({"n": 3}, None)


def test_python_scenario_failure_names_the_call_and_the_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_bench(tmp_path, monkeypatch, "def main():\n    raise ValueError('no figures')\n")
    figures, error = run.run_python(PythonScenario("t", "fake_bench", timeout_s=30))
    assert figures is None
    assert error is not None and "fake_bench.main() failed" in error and "no figures" in error


@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items()
                                  if isinstance(s, PythonScenario)])
def test_every_python_scenario_function_exists_and_takes_its_quick_arguments(name: str) -> None:
    scenario = SCENARIOS[name]
    assert isinstance(scenario, PythonScenario)
    function = getattr(importlib.import_module(scenario.module), scenario.function)
    inspect.signature(function).bind(**dict(scenario.quick_args))


def test_reload_bench_times_an_edit_until_it_is_served() -> None:
    figures = reload_bench.time_edits("stat", 1)
    assert 0 < figures["detected_median_ms"] <= figures["served_median_ms"] < 15_000


def test_reload_bench_edit_pushes_the_mtime_past_the_last(tmp_path: Path) -> None:
    module = tmp_path / "appmod.py"
    reload_bench.write_message(module, "v0")
    first = module.stat().st_mtime_ns
    reload_bench.write_message(module, "v1")
    assert module.stat().st_mtime_ns >= first + 2_000_000_000
    assert module.read_text() == "MESSAGE = 'v1'\n"


def test_reload_bench_needs_at_least_one_edit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        reload_bench.main(edits=0)


# --- the plot -----------------------------------------------------------------------------

def _results() -> dict[str, object]:
    rate = dataclasses.asdict(_report(5000))
    return {"date": "2030-01-01T00:00:00", "machine": {"cores": 2}, "results": {
        "hello": {"kind": "load", "title": "h", "outcomes": [
            {"server": "granian", "report": rate, "reference": None, "memory": None,
             "error": None},
            {"server": "treadle-threaded", "report": None, "reference": None, "memory": None,
             "error": "exited"}]},
        "proxy": {"kind": "python", "title": "p", "figures": {"x": 1}, "error": None},
        "idle-memory": {"kind": "memory", "title": "m", "outcomes": []},
    }}


def test_plot_bars_come_from_load_scenarios_and_a_failure_has_no_rate() -> None:
    assert plot.load_bars(_results()) == [plot.Bar("hello", "granian", 5000.0),
                                          plot.Bar("hello", "treadle-threaded", None)]


def test_results_without_a_load_scenario_cannot_be_plotted() -> None:
    results = _results()
    del results["results"]["hello"]  # type: ignore[attr-defined]
    with pytest.raises(plot.PlotError, match="no load scenario"):
        plot.load_bars(results)


def test_treadle_variants_and_peers_get_different_colour_families() -> None:
    colours = plot.server_colours(["granian", "treadle-threaded", "waitress"])
    assert colours["treadle-threaded"] in plot.TREADLE_COLOURS
    assert {colours["granian"], colours["waitress"]} <= set(plot.PEER_COLOURS)


def test_plot_is_drawn_as_a_png(tmp_path: Path) -> None:
    pytest.importorskip(
        "matplotlib",
        reason="matplotlib is not installed (it is in the test and bench extras; on free-threaded"
        " 3.13t its build downloads FreeType, which these machines cannot reach)",
    )
    out = tmp_path / "bench.png"
    assert plot.draw(_results(), out) == 2
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_latency_of_a_run_without_a_single_response_is_a_dash() -> None:
    nothing = _report(0, p50_ms=0.0, p99_ms=0.0, requests=0)
    assert report.latency_cell(nothing, 0.50) == report.MISSING


def test_an_open_file_limit_already_high_enough_is_left_alone() -> None:
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert run.raise_open_files(16) is None
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == before
