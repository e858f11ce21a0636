"""Issue 19, the readers' part: files that made calamine or polars abort the process (SIGABRT:
no message, no file named), links that read data from outside the project, pipes that block,
and a file swapped between the checks and the read (points 9, 10, 11, 12, 15, 17).

Each hostile file goes through ``kamrules run`` in its own process under a 3 GiB address-space
limit and a timeout, like tests/test_hostile_input.py: it must end with a message naming the
file (exit 1), no traceback, untouched inputs and no run folder. The files come from
tests/corpus/readers.py; the big CSVs are written on demand into the test's folder."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from kamrules.errors import LedgerError
from kamrules.i18n import localize
from kamrules.ledger import read_ledger, xlsx_inspect
from kamrules.rules.rulebook_compiler import load_rulebook

from conftest import REPO, make_project, small_ledger, write_workbook
from hostile import SECONDS, bounded as _bounded, digest, run_cli
from hostile import project_with_input as project_with, published_runs as published

sys.path.insert(0, str(Path(__file__).parent / "corpus"))
import readers as corpus  # noqa: E402

pytestmark = pytest.mark.slow  # the hostile corpus: every reader-aborting file through the CLI in a bounded process; CI's second step

POSIX_ONLY = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes, sockets and devices are POSIX")


def run(project: Path, **env: str) -> subprocess.CompletedProcess:
    return run_cli("run", "-p", str(project), "--as-of", "2026-10-31", "-q", env=env)


def assert_refused(done: subprocess.CompletedProcess, project: Path, path: Path, before: dict, message: str):
    assert done.returncode == 1, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert done.stderr.startswith(f"error: inputs/{path.name}"), done.stderr[-2000:]
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert digest(project / "inputs") == before
    assert published(project) == [] and not list((project / "outputs").glob(".staging-*"))


# --- points 9, 10, 11: the structure is measured before a parser builds the grid --------------

ABORTING = [
    (corpus.row_50_million, "sheet 销售明细: sheet has 50,000,000 rows; the limit is 1,048,576"),
    (corpus.two_far_corners, "sheet 销售明细: the sheet spans 1,048,576 rows × 2,048 columns, 2,147,483,648 cells "
                             "(empty ones included); the limit is 20,000,000 cells"),
    (corpus.row_without_references, "sheet 销售明细: sheet has a cell in column beyond ZZZ ("),
    (corpus.xls_dimensions_claim, "sheet 销售明细: its DIMENSIONS record declares 4,294,967,295 rows × 6 columns "
                                  "(25,769,803,770 cells); the limit is 20,000,000 cells"),
    (corpus.xls_fat_claim, ": the file is damaged, or crafted so that it cannot be read safely: its OLE header "
                           "declares 2,147,483,647 FAT sectors, but the file has room for 10"),
    (corpus.xls_four_far_sheets, "sheet S1: up to this sheet, the file's sheets span 33,554,432 cells (empty ones "
                                 "included); the limit is 20,000,000 cells in one file"),
    (corpus.csv_wide_line, ": the first line has more than 2,048 fields (the limit is 2,048 columns)"),
]


@pytest.mark.parametrize("maker, message", ABORTING, ids=[m.__name__ for m, _ in ABORTING])
def test_files_that_aborted_the_process_are_refused_by_name(tmp_path, maker, message):
    project, path = project_with(tmp_path / "project", maker)
    before = digest(project / "inputs")
    start = time.monotonic()
    done = run(project)
    assert_refused(done, project, path, before, message)
    assert time.monotonic() - start < 30  # the measure costs seconds at most, never calamine's minutes


def test_the_row_without_references_names_the_far_column_it_found(tmp_path):
    project, path = project_with(tmp_path / "project", corpus.row_without_references)
    done = run(project)
    assert "the limit is 2,048 columns (Excel itself stops at 16,384)" in done.stderr
    assert "hint: delete the far-right cells, or raise KAMRULES_MAX_COLUMNS" in done.stderr


@pytest.mark.slow  # 200 MB written and read
def test_a_200_mb_csv_of_ordinary_rows_is_refused_by_the_row_limit(tmp_path):
    project, path = project_with(tmp_path / "project", corpus.csv_200mb)
    before = digest(project / "inputs")
    done = run(project)
    assert_refused(done, project, path, before, ": the file has more than 1,048,576 rows (the limit)")
    assert "hint: split it, or raise the limit with KAMRULES_MAX_ROWS" in done.stderr
    raised = run(project, KAMRULES_MAX_ROWS="10000000")  # then the cells limit speaks, still before polars
    assert_refused(raised, project, path, before, ": with 6 columns, the limit of 20,000,000 cells allows "
                                                  "3,333,333 rows, and the file has more")


@pytest.mark.slow  # 16.7 million cells read: about 1.6 GB while calamine holds them
def test_one_full_size_xls_sheet_is_within_the_limits_and_is_read(tmp_path):
    def one_sheet(folder: Path) -> Path:
        path = folder / "full.xls"
        path.write_bytes(corpus._xls({"S0": [(0, 0, "x"), (65535, 255, "z")]}))
        return path

    project, _ = project_with(tmp_path / "project", one_sheet)
    write_workbook(project / "inputs" / "台账.xlsx", small_ledger())
    done = run(project)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((published(project)[0] / "run.json").read_text(encoding="utf-8"))
    assert manifest["issues"]["by_code"]["sheet_ignored"] == 1  # read, and not a dataset


def test_new_messages_in_chinese(tmp_path):
    project, path = project_with(tmp_path / "project", corpus.two_far_corners)
    done = run(project, KAMRULES_LANG="zh")
    assert done.returncode == 1
    assert done.stderr.startswith(f"错误：inputs/{path.name}，工作表 销售明细：工作表从第 1 行到第 1,048,576 行、共 2,048 列，"
                                  "即 2,147,483,648 个单元格（空单元格也算在内）；上限为 20,000,000 个单元格"), done.stderr
    assert "建议：请删除远离数据的多余单元格（在 Excel 中按 Ctrl+End 可看到工作表的末尾）、拆分文件，或调高 KAMRULES_MAX_CELLS" \
        in done.stderr


@pytest.mark.parametrize("maker, chinese", [
    (corpus.xls_fat_claim, "文件已损坏，或被刻意构造得无法安全读取：OLE 文件头声明了 2,147,483,647 个 FAT 扇区，而文件只容得下 10 个"),
    (corpus.xls_dimensions_claim, "DIMENSIONS 记录声明工作表有 4,294,967,295 行 × 6 列（25,769,803,770 个单元格）；"
                                  "上限为 20,000,000 个单元格"),
    (corpus.xls_four_far_sheets, "到这张工作表为止，文件的各工作表合计 33,554,432 个单元格（空单元格也算在内）；一个文件的上限为 "
                                 "20,000,000 个单元格"),
    (corpus.csv_wide_line, "第一行的字段超过 2,048 个（上限为 2,048 列）"),
], ids=lambda case: getattr(case, "__name__", ""))
def test_refusals_in_chinese(tmp_path, maker, chinese):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    maker(inputs)
    with pytest.raises(LedgerError) as caught:
        read(inputs)
    assert localize(caught.value.message, "zh") == chinese


def read(inputs: Path, project: Path = REPO, **kwargs):
    rulebook = load_rulebook(project)
    return read_ledger(inputs, rulebook.spec.datasets, rulebook.spec.ledger, **kwargs)


def test_the_cells_limit_at_the_boundary(tmp_path, monkeypatch):
    import fastexcel

    project = make_project(tmp_path / "p")
    reader = fastexcel.read_excel(str(project / "inputs" / "台账.xlsx"))
    grids = [reader.load_sheet_by_name(name, header_row=None, skip_rows=0, dtypes="string").to_polars()
             for name in reader.sheet_names]
    cells = sum(grid.height * grid.width for grid in grids)  # what calamine holds, empty cells too
    monkeypatch.setenv("KAMRULES_MAX_CELLS", str(cells))
    read(project / "inputs", project)
    monkeypatch.setenv("KAMRULES_MAX_CELLS", str(cells - 1))
    with pytest.raises(LedgerError) as caught:
        read(project / "inputs", project)
    assert caught.value.message == (f"up to this sheet, the file's sheets span {cells:,} cells (empty ones included); "
                                    f"the limit is {cells - 1:,} cells in one file")
    assert caught.value.sheet == reader.sheet_names[-1]


def test_an_xlsx_called_xls_is_measured_too(tmp_path):
    """calamine tells the kind by the bytes (they are what it reads), so must the checks."""
    def renamed(folder: Path) -> Path:
        path = folder / "corners.xls"
        path.write_bytes(corpus.two_far_corners(folder).read_bytes())
        (folder / "two_far_corners.xlsx").unlink()
        return path

    project, path = project_with(tmp_path / "project", renamed)
    done = run(project)
    assert_refused(done, project, path, digest(project / "inputs"), "the sheet spans 1,048,576 rows × 2,048 columns")


def test_an_ods_or_xlsb_in_a_zip_is_not_read(tmp_path):
    from kamrules.ledger.guard import check_input
    from kamrules.limits import current

    for part in ("content.xml", "xl/workbook.bin"):
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            archive.writestr(part, "<x/>")
        with pytest.raises(LedgerError) as caught:
            check_input(data.getvalue(), "inputs/x.xlsx", current(), ".xlsx")
        assert caught.value.message == "the file is a zip package but not an Excel workbook (.xlsx): perhaps an .ods " \
                                       "or .xlsb file"
        assert localize(caught.value.message, "zh") == "该文件是 zip 包，但不是 Excel 工作簿（.xlsx）：可能是 .ods 或 .xlsb 文件"


def _random_sheet(rng: random.Random) -> bytes:
    """Rows and cells as writers and attackers write them: with and without r="…", rows out of
    order, lower-case references, ``s`` before ``r``, self-closing and empty cells, prefixes."""
    rows, row = [], 0
    for _ in range(rng.randint(1, 6)):
        row = rng.choice([row + 1, row + rng.randint(1, 50), max(1, row - rng.randint(1, 5))])
        cells, column = [], 0
        for _ in range(rng.randint(0, 6)):
            column = rng.choice([column + 1, column + rng.randint(1, 30), max(1, column - 2)])
            ref = xlsx_inspect.column_letters(column).decode() + str(row if rng.random() < 0.8 else rng.randint(1, 200))
            ref = ref.lower() if rng.random() < 0.1 else ref
            value = "<v>%d</v>" % rng.randint(0, 9)
            cells.append(rng.choice([f'<c r="{ref}">{value}</c>', f'<c r="{ref}">{value}</c>', f"<c>{value}</c>",
                                     f'<c s="0" r="{ref}">{value}</c>', f'<c r="{ref}" s="0"/>',
                                     f'<c r="{ref}"><v></v></c>', f'<c\nr="{ref}">{value}</c>',
                                     f'<x:c xmlns:x="urn:x" r="{ref}"><x:v>1</x:v></x:c>']))
        rows.append(rng.choice([f'<row r="{row}">', "<row>", f'<row r="{row}" spans="1:3">']) + "".join(cells) + "</row>")
    return "".join(rows).encode()


def test_the_measure_of_a_sheet_is_never_below_calamines_grid():
    """Random sheets, measured and then read by calamine: the measure is an upper bound (and,
    for all but odd files, exactly the grid)."""
    import fastexcel

    rng, exact, cases = random.Random(19), 0, 150
    for _ in range(cases):
        data = corpus._with_orders_sheet(_random_sheet(rng))
        extent = xlsx_inspect.inspect_sheet(data, "xl/worksheets/sheet1.xml").extent
        try:
            grid = fastexcel.read_excel(data).load_sheet_by_name(corpus.ORDERS, header_row=None, skip_rows=0,
                                                                   dtypes="string").to_polars()
        except Exception:
            continue  # calamine's own error (a lower-case reference it cannot place, …)
        assert grid.height <= extent.rows and grid.width <= extent.columns, (grid.shape, extent)
        exact += grid.shape == (extent.rows, extent.columns) or grid.height == 0
    assert exact > cases * 0.7


@pytest.mark.slow  # a process per mutated file
def test_mutated_xls_files_never_abort_the_reader(tmp_path):
    """Bytes and counts of a valid .xls changed at random: each file is refused by the checks, or
    calamine (in a bounded process of its own) reads it or fails with an error, never aborts."""
    from kamrules.ledger.guard import check_input
    from kamrules.limits import current

    valid = corpus._xls({corpus.ORDERS: [(r, c, f"v{r}" if c % 2 else r * 1.5) for r in range(60) for c in range(6)],
                         "B": [(0, 0, "x")]})
    child = ("import sys, fastexcel\nreader = fastexcel.read_excel(open(sys.argv[1], 'rb').read())\n"
             "for name in reader.sheet_names:\n    reader.load_sheet_by_name(name, header_row=None, skip_rows=0, "
             "dtypes='string').to_polars()\n")
    rng = random.Random(10)
    for case in range(60):
        data = bytearray(valid)
        for _ in range(rng.choice([1, 2, 4, 8])):
            at = rng.randrange(len(data) - 4)
            if rng.random() < 0.5:
                data[at] = rng.randrange(256)
            else:
                at -= at % 4
                data[at:at + 4] = rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFE, 0, 1, 65535, 1 << 20,
                                              rng.randrange(1 << 32)]).to_bytes(4, "little")
        try:
            check_input(bytes(data), "x.xls", current(), ".xls")
        except LedgerError:
            continue
        path = tmp_path / f"m{case}.xls"
        path.write_bytes(bytes(data))
        done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True,
                              timeout=SECONDS, preexec_fn=_bounded)
        assert done.returncode in (0, 1), (case, done.returncode, done.stderr[-1000:])


# --- points 12 and 15: only regular files of the project are read -----------------------------

@POSIX_ONLY
def test_links_out_of_the_project_and_special_files_are_reported_not_read(tmp_path):
    project = make_project(tmp_path / "p")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    inputs = project / "inputs"
    corpus.link(inputs, "x.csv", corpus.outside_csv(elsewhere))
    corpus.link(inputs, "ledger.xlsx", corpus.other_ledger(elsewhere))
    corpus.fifo(inputs, "pipe.xlsx")
    corpus.socket_file(inputs, "socket.csv")
    outside = digest(elsewhere)
    done = run(project)
    for server in corpus.socket_file.open:
        server.close()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    run_dir = published(project)[0]
    manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert manifest["issues"]["by_code"]["input_refused"] == 4
    book = openpyxl.load_workbook(run_dir / "portfolio.xlsx", read_only=True)
    refused = sorted((r[0], r[1], r[6], r[8]) for r in book["Data issues"].iter_rows(min_row=2, values_only=True)
                     if r[8] == "input_refused")
    assert refused == [
        ("Warning", "inputs/ledger.xlsx", "not read: a link to a file outside the project", "input_refused"),
        ("Warning", "inputs/pipe.xlsx", "not read: a named pipe (FIFO), not a regular file", "input_refused"),
        ("Warning", "inputs/socket.csv", "not read: a socket, not a regular file", "input_refused"),
        ("Warning", "inputs/x.csv", "not read: a link to a file outside the project", "input_refused"),
    ]
    customers = {r[0] for r in book["Customers"].iter_rows(min_row=2, values_only=True)}
    assert customers == {"C001", "C002", "C003"}  # neither C777 (x.csv) nor C888 (the other ledger)
    assert digest(elsewhere) == outside


def test_a_link_inside_the_project_is_read(tmp_path):
    project = make_project(tmp_path / "p")
    shared = project / "shared"
    shared.mkdir()
    (project / "inputs" / "台账.xlsx").rename(shared / "台账.xlsx")
    corpus.link(project / "inputs", "台账.xlsx", Path("..") / "shared" / "台账.xlsx")
    ledger = read(project / "inputs", project, display_root=project)
    assert [f.name for f in ledger.files] == ["inputs/台账.xlsx"]
    assert ledger.datasets["customers"]["customer_id"].to_list() == ["C001", "C002", "C003"]


def test_inputs_itself_a_link_out_of_the_project_is_not_read(tmp_path):
    project = make_project(tmp_path / "p")
    (project / "inputs").rename(tmp_path / "real_inputs")
    (project / "inputs").symlink_to(tmp_path / "real_inputs")
    done = run(project)
    assert done.returncode == 1
    assert done.stderr.startswith("error: inputs/台账.xlsx: not read: a link to a file outside the project"), done.stderr


def test_a_lone_link_out_of_the_project_is_the_error(tmp_path):
    project, _ = project_with(tmp_path / "project", lambda inputs: corpus.link(
        inputs, "x.csv", corpus.outside_csv(tmp_path)))
    done = run(project)
    assert done.returncode == 1
    assert done.stderr.startswith("error: inputs/x.csv: not read: a link to a file outside the project\n"
                                  "  hint: copy the spreadsheet itself into inputs/ (not a link or a special file)"), \
        done.stderr
    assert "Traceback" not in done.stderr


@POSIX_ONLY
def test_a_pipe_never_blocks_even_when_it_appears_after_the_folder_was_listed(tmp_path):
    """read_input opens without blocking and checks the descriptor: a pipe swapped in for a
    workbook after the listing is refused at once."""
    from kamrules.ledger import read_input
    from kamrules.limits import current

    inputs = tmp_path / "p" / "inputs"
    inputs.mkdir(parents=True)
    pipe = corpus.fifo(inputs, "台账.xlsx")
    result = {}

    def attempt():
        try:
            read_input(pipe, "inputs/台账.xlsx", current(), tmp_path / "p")
        except LedgerError as exc:
            result["message"] = exc.message

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock it before failing: open a writer
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a pipe blocked")
    assert result["message"] == "not read: a named pipe (FIFO), not a regular file"
    assert localize(result["message"], "zh") == "未读取：这是命名管道（FIFO），不是普通文件"


def test_refusals_of_links_and_special_files_in_chinese():
    from kamrules.i18n import msg

    assert localize(msg("ledger.input_refused", reason=msg("ledger.input_refused.link_outside")), "zh") == \
        "未读取：这是指向项目之外的文件的链接"
    assert localize(msg("ledger.input_refused", reason=msg("ledger.input_refused.socket")), "zh") == \
        "未读取：这是套接字，不是普通文件"


@POSIX_ONLY
def test_a_device_is_not_read(tmp_path):
    inputs = tmp_path / "p" / "inputs"
    inputs.mkdir(parents=True)
    try:
        os.mknod(inputs / "zero.csv", 0o600 | 0o020000, os.makedev(1, 5))  # /dev/zero's numbers
    except (PermissionError, OSError):
        pytest.skip("creating a device needs privileges")
    write_workbook(inputs / "台账.xlsx", small_ledger())
    ledger = read(inputs, REPO, display_root=tmp_path / "p")
    assert [(i.file, i.message) for i in ledger.issues if i.code == "input_refused"] == [
        ("inputs/zero.csv", "not read: a device, not a regular file")]


# --- point 17: the bytes checked are the bytes read ---------------------------------------------

def test_a_file_swapped_after_the_checks_is_not_read(tmp_path, monkeypatch):
    """The guard checks the file, then (here) someone replaces it: the run reads what was checked
    and hashed, never the file swapped in."""
    import kamrules.ledger as ledger_module

    project = make_project(tmp_path / "p")
    book = project / "inputs" / "台账.xlsx"
    original = book.read_bytes()
    swapped = small_ledger()
    swapped["客户档案"][3][0] = "C999"
    swapped["客户档案"][3][1] = "换进来的客户"
    write_workbook(tmp_path / "swapped.xlsx", swapped)
    checked = ledger_module.check_input

    def check_then_swap(*args, **kwargs):
        checked(*args, **kwargs)
        shutil.copyfile(tmp_path / "swapped.xlsx", book)

    monkeypatch.setattr(ledger_module, "check_input", check_then_swap)
    ledger = read(project / "inputs", project, display_root=project)
    assert book.read_bytes() != original  # it was swapped
    assert ledger.files[0].sha256 == hashlib.sha256(original).hexdigest()
    assert ledger.datasets["customers"]["customer_id"].to_list() == ["C001", "C002", "C003"]
