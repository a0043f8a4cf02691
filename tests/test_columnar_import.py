"""The columnar path for big CSV exports (sources/columnar.py) against the row-at-a-time path it replaces:
on hostile files both give the same records, rejections, skips, counts, preview and report, and a whole
import through either stores the same rows. The row path is the reference: it is what every other test
of the importer pins down."""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import tempfile
import time
from multiprocessing.pool import Pool
from pathlib import Path

import pytest
import sqlite_utils
from conftest import Province
from dossier_values import HEADER, ROW, UNITS, VALUES, sent_in_order, summary_of, unstaged
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditbot.config.rules import load_config
from auditbot.sources.dossiers import exports as dossiers
from auditbot.sources.dossiers.exports import DossierSpec
from auditbot.sources.tabular import csv_chunks, formats, pipeline
from auditbot.store.dossiers import COLUMNS

CASES = int(os.environ.get("AUDITBOT_FUZZ_CASES", "120"))
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))

# a line that is not an ordinary row: layout, shifted rows, cells with line breaks, stray quotes
ODD_LINES = ["", ",,,,,,,,,,,,,,,", "Tổng cộng,,,,,,,,,,,,,,,", "1,2,3", "1,X-{n},a,b,c,Sở Tư pháp,d,02/08/2026 12:03",
             "1,X-{n}" + ",x" * 20, '1,"Q-{n}","1.00","tên ""kép""",a,Sở Tư pháp,,02/08/2026 12:03,,,9,,,,,',
             '1,M-{n},1,"dòng 1\ndòng 2",a,Sở Tư pháp,,02/08/2026 12:03,,,9,,,,,',
             '1,S-{n},1,tên "lạ",a,Sở Tư pháp,,02/08/2026 12:03,,,9,,,,,', "   "]
# lines the engine is handed (layout and shifted rows are counted here and read the exact way one by one)
READABLE = [line for line in ODD_LINES if '"' not in line]
LINE = st.one_of(ROW(), ROW(), ROW(), ROW(), st.sampled_from(READABLE))


def render(lines: list[dict[str, str] | str], crlf: bool = False, bom: bool = False) -> bytes:
    out = io.StringIO()
    newline = "\r\n" if crlf else "\n"
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(["ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"])
    writer.writerow([])
    writer.writerow(HEADER)
    for n, line in enumerate(lines, start=1):
        if isinstance(line, str):
            out.write(line.format(n=n) + newline)
        else:
            cells = {name: value.format(n=n) for name, value in line.items()}
            writer.writerow([n, cells["code"], cells["procedure_code"], cells["procedure_name"], cells["citizen"],
                             cells["unit"], cells["channel"], cells["received_at"], cells["due_at"],
                             cells["finished_at"], cells["status"], cells["fee"], cells["paid_online"],
                             cells["digitised"], cells["result_ref"], cells["heir"]])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def row_path(path: Path, config) -> tuple[tuple, list[tuple]]:
    records: list[tuple] = []
    counts = pipeline._parse(path, formats.CSV, DossierSpec(), config, 7, lambda *header: None, records.extend)
    return summary_of(counts), records


_ENGINE: list[Pool] = []


@pytest.fixture(scope="module", autouse=True)
def engine(engine_child: Pool) -> None:
    _ENGINE[:] = [engine_child]


def columnar_path(path: Path, config) -> tuple[tuple, list[tuple]]:
    """What the columnar path reads, read in a forked child as imports do: this process never starts the
    engine (see pipeline._columnar), so the imports the other tests run can use it too."""
    return _ENGINE[0].apply(_columnar_path, (path, config, csv_chunks.CHUNK_BYTES))


def _columnar_path(path: Path, config, chunk_bytes: int | None = None) -> tuple[tuple, list[tuple]]:
    from auditbot.sources.tabular.columnar import parse_columnar

    if chunk_bytes is not None:
        csv_chunks.CHUNK_BYTES = chunk_bytes  # the engine's child was forked before this case's fixture set it

    records: list[tuple] = []
    counts = parse_columnar(path, DossierSpec(), config, 7, lambda *header: None, records.extend,
                            lambda image: records.extend(unstaged(image)), path.parent)
    assert counts is not None
    return summary_of(counts), sorted(records, key=lambda record: record[COLUMNS.index("source_row")])


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(csv_chunks, "CHUNK_BYTES", 700)  # a few rows a chunk: every boundary case is met
    return load_config(Province(tmp_path, extra=UNITS).rules)


def test_each_hostile_value_is_read_the_same_either_way(tmp_path: Path, config) -> None:
    """Every value above on its own in an ordinary row, and every odd line, in one file."""
    ordinary = {name: values[0] for name, values in VALUES.items()}
    lines = [dict(ordinary, **{name: value}) for name, values in VALUES.items() for value in values]
    path = tmp_path / "export.csv"
    path.write_bytes(render([*lines, *READABLE, *lines, *ODD_LINES, *lines]))
    columnar, rows = columnar_path(path, config), row_path(path, config)
    assert columnar == rows
    assert len(rows[1]) > 100 and len(rows[0][4]) > 50  # records and rejections both


@FUZZ
@given(lines=st.lists(LINE, max_size=60), odd=st.lists(st.sampled_from(ODD_LINES), max_size=2),
       crlf=st.booleans(), bom=st.booleans())
def test_hostile_exports_read_the_same_either_way(tmp_path: Path, config, lines, odd, crlf, bom) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(render([*lines, *odd, *lines], crlf, bom))
    assert columnar_path(path, config) == row_path(path, config)


def test_the_ordinary_rows_are_typed_by_the_engine_not_the_parser(tmp_path: Path, config) -> None:
    """The speed is real: an ordinary export reaches the row parser for none of its rows."""
    path = tmp_path / "export.csv"
    path.write_bytes(render([{name: values[0] for name, values in VALUES.items()}] * 50))
    with multiprocessing.get_context("fork").Pool(1) as pool:
        records, parsed = pool.apply(_rows_parsed, (path, config))
    assert records == 50 and parsed == 0


def _rows_parsed(path: Path, config) -> tuple[int, int]:
    """(records read, rows that reached DossierParser.parse), in a child."""
    from auditbot.sources.dossiers.rows import DossierParser

    seen: list[int] = []
    parse = DossierParser.parse
    DossierParser.parse = lambda self, cells, row: (seen.append(row), parse(self, cells, row))[1]  # type: ignore
    return len(_columnar_path(path, config)[1]), len(seen)


@pytest.mark.parametrize("damage", [b"\xff\xfe", b"a\x00b", b"x\ry"])
def test_a_chunk_the_engine_must_not_read_is_read_the_exact_way(tmp_path: Path, config, damage) -> None:
    """Bytes that are not UTF-8, a NUL, a bare CR: from that chunk on the file is csv.reader's, errors and all."""
    path = tmp_path / "export.csv"
    data = render([{name: values[0] for name, values in VALUES.items()}] * 40)
    cut = data.rindex(b"\n", 0, len(data) // 2) + 1
    path.write_bytes(data[:cut] + b"1,D-1," + damage + b",x\n" + data[cut:])
    try:
        expected = row_path(path, config)
    except Exception as exc:  # noqa: BLE001 - the same refusal, word for word
        with pytest.raises(type(exc)) as raised:
            columnar_path(path, config)
        assert str(raised.value) == str(exc)
    else:
        assert columnar_path(path, config) == expected


def test_what_a_reader_sends_comes_in_row_order_though_pieces_are_staged_aside(tmp_path: Path, config) -> None:
    """Pieces are staged on a thread while the next is typed; a slow stager must still not let rows the
    reader sends itself (here: the exact way's, after a NUL) overtake the pieces staged before them, or the
    writer would let an earlier row of a repeated code win."""
    path = tmp_path / "export.csv"
    data = render([{name: values[0] for name, values in VALUES.items()}] * 60)
    cut = data.rindex(b"\n", 0, len(data) // 2) + 1
    path.write_bytes(data[:cut] + b"1,D-1,a\x00b,x\n" + data[cut:])
    with multiprocessing.get_context("fork").Pool(1) as pool:
        sent = pool.apply(_sent_in_order, (path, config))
    kinds = [kind for kind, _ in sent]
    assert kinds.count("stage") >= 2 and "batch" in kinds  # both ways of sending were met
    rows = [row for _, numbers in sent for row in numbers]
    assert rows == sorted(rows) and len(rows) >= 60


def _sent_in_order(path: Path, config) -> list[tuple[str, list[int]]]:
    from auditbot.sources.tabular.columnar import parse_columnar

    return sent_in_order(parse_columnar, path, config, 0.05)


def test_a_piece_that_cannot_be_staged_stops_the_reader(tmp_path: Path, config) -> None:
    """The stager's failure, on its thread, is the reader's: raised, not lost, and nothing more is sent."""
    path = tmp_path / "export.csv"
    path.write_bytes(render([{name: values[0] for name, values in VALUES.items()}] * 60))
    with multiprocessing.get_context("fork").Pool(1) as pool:
        failure, sent = pool.apply(_stage_fails, (path, config))
    assert failure == "OSError" and sent == 1


def _stage_fails(path: Path, config) -> tuple[str, int]:
    from auditbot.sources.tabular import staging
    from auditbot.sources.tabular.columnar import parse_columnar

    calls: list[int] = []

    def image(self, frame):  # the second piece's scratch file cannot be written
        calls.append(frame.height)
        if len(calls) == 2:
            raise OSError("disk full")
        return b"image"

    staging.Stager.image = image  # type: ignore[method-assign]
    sent: list[bytes] = []
    try:
        parse_columnar(path, DossierSpec(), config, 7, lambda *header: None, lambda batch: None, sent.append,
                       path.parent)
    except OSError as exc:
        return type(exc).__name__, len(sent)
    return "", len(sent)


def test_a_big_import_stores_what_the_row_path_stores(tmp_path: Path, monkeypatch, reader_hooks) -> None:
    """End to end through `auditbot import` (a file past PARALLEL_FROM_BYTES goes to the reading child): the
    same dossiers, the same import summary and the same kept rejections, also on a second import that
    updates some rows and repeats codes."""
    lines = [{name: values[i % len(values)] if i % 7 == 0 else values[0] for name, values in VALUES.items()}
             for i in range(900)]
    rng_rows = [dict(line, code=line["code"] if i % 97 else "dup-{n}".replace("{n}", str(i % 5)))
                for i, line in enumerate(lines)]
    data = render([*[*rng_rows, *READABLE] * 3, *ODD_LINES, *rng_rows[:50]])  # its last chunks read the exact way
    monkeypatch.setattr(pipeline, "PARALLEL_FROM_BYTES", 1)
    monkeypatch.setattr(dossiers, "DossierSpec", reader_hooks.SmallChunksSpec)  # 16 KB chunks in the child
    staged: list[int] = []
    write_staged = DossierSpec.write_staged
    monkeypatch.setattr(DossierSpec, "write_staged", lambda self, conn, image: (staged.append(len(image)),
                                                                               write_staged(self, conn, image))[1])
    results = {}
    for way in ("columnar", "rows"):
        if way == "rows":
            assert len(staged) >= 6  # the columnar path did write the first province: in batches
            monkeypatch.setattr(pipeline, "_columnar", lambda kind, spec: False)
        (tmp_path / way).mkdir()
        province = Province(tmp_path / way, extra=UNITS)
        path = province.root / "exports" / "export.csv"
        path.write_bytes(data)
        first = province.run("import", "dossiers", str(path))
        later = province.root / "exports" / "later.csv"
        later.write_bytes(data.replace("Đang xử lý".encode(), "Đã trả kết quả".encode()).replace(b"KQ/1", b"KQ/X")
                          .replace(b"03/08/2026 03:00", b"05/08/2026 03:00"))
        second = province.run("import", "dossiers", str(later))
        third = province.run("import", "dossiers", str(path))  # the earlier export again: its states are older
        outputs = [run.output.replace(str(tmp_path / way), "") for run in (first, second, third)]
        assert all(run.exit_code == 0 for run in (first, second, third)), outputs
        db = sqlite_utils.Database(province.db_path)
        results[way] = (outputs,
                        list(db.query("SELECT * FROM dossiers ORDER BY code")),
                        list(db.query("SELECT row, column_name, reason, fields FROM rejected_rows ORDER BY id"))
                        if "rejected_rows" in db.table_names() else None)
    assert results["columnar"] == results["rows"]
    outputs, stored = results["rows"][:2]
    assert "earlier state than the one stored" in outputs[2] and len(stored) > 100


def test_a_reader_that_outgrows_the_memory_cap_is_stopped(tmp_path: Path, monkeypatch, reader_hooks) -> None:
    """The engine reserves more address space than it uses, so the reading child's cap is on resident
    memory: past it the child exits, the import is refused in one line and nothing is stored."""
    province = Province(tmp_path, extra="max_memory_mb = 64")
    path = province.root / "exports" / "export.csv"
    path.write_bytes(render([{name: values[0] for name, values in VALUES.items()}] * 20))
    monkeypatch.setattr(pipeline, "PARALLEL_FROM_BYTES", 1)
    monkeypatch.setattr(dossiers, "DossierSpec", reader_hooks.HoardingSpec)  # what a hostile file would make it do
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 2
    assert "needs more than [sources] max_memory_mb = 64 MB; not imported" in result.output
    assert sqlite_utils.Database(province.db_path)["dossiers"].count == 0
    assert list(scratch.iterdir()) == []  # the killed child's files too


def test_a_reader_that_stops_answering_is_stopped(tmp_path: Path, monkeypatch, reader_hooks) -> None:
    """A reading child that hangs (a deadlocked engine, a stuck disk) is stopped after a silence: the
    import is refused in one line, nothing is stored, and the daemon goes on."""
    province = Province(tmp_path)
    path = province.root / "exports" / "export.csv"
    path.write_bytes(render([{name: values[0] for name, values in VALUES.items()}] * 20))
    monkeypatch.setattr(pipeline, "PARALLEL_FROM_BYTES", 1)
    monkeypatch.setattr(pipeline, "CHILD_SILENCE_SECONDS", 1)

    monkeypatch.setattr(dossiers, "DossierSpec", reader_hooks.StuckSpec)
    started = time.monotonic()
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 2 and "said nothing for 1 s and was stopped" in result.output
    assert time.monotonic() - started < 30
    assert sqlite_utils.Database(province.db_path)["dossiers"].count == 0


def test_submission_and_apology_columns_read_the_same_either_way(tmp_path: Path, config) -> None:
    """Rows with blank apology and submission cells take the engine's way, the others the parser's: the same
    records (an apology column present and blank is a known "no", never unknown)."""
    header = ["Mã hồ sơ", "Đơn vị", "Ngày tiếp nhận", "Hạn xử lý", "Ngày kết thúc", "Trạng thái", "Kênh nộp",
              "Thời gian nộp", "HanTiepNhan", "Ngày xin lỗi", "Phiếu xin lỗi", "Ngày hẹn mới"]
    rows = [["P-1", "Sở Tư pháp", "03/09/2026 08:30", "10/08/2026", "", "Đang xử lý", "Trực tuyến", "", "", "", "", ""],
            ["P-2", "Sở Tư pháp", "03/09/2026 08:30", "10/08/2026", "", "Đang xử lý", "Trực tuyến",
             "31/08/2026 16:00", "", "", "PXL-12", ""],
            ["P-3", "Sở Tư pháp", "03/09/2026 08:30", "10/08/2026", "", "Đang xử lý", "Trực tuyến", "",
             "01/09/2026", "", "Không", "20/09/2026"],
            ["P-4", "Sở Tư pháp", "03/09/2026 08:30", "10/08/2026", "", "Đang xử lý", "Trực tuyến",
             "04/09/2026 08:00", "", "", "", ""]]  # submitted after it was received: rejected
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    path = tmp_path / "export.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    columnar, row = columnar_path(path, config), row_path(path, config)
    assert columnar == row
    stored = {record[0]: dict(zip(COLUMNS, record)) for record in row[1]}
    assert sorted(stored) == ["P-1", "P-2", "P-3"]
    assert [stored[code]["apologised"] for code in ("P-1", "P-2", "P-3")] == [0, 1, 1]
    assert stored["P-2"]["submitted_at"] == "2026-08-31 16:00:00"
    assert stored["P-3"]["receipt_due_at"] == "2026-09-01 23:59:59"
    assert stored["P-3"]["new_due_at"] == "2026-09-20 23:59:59"
