"""PDF documents: the audit, the model card and the Annex IV view hold their headline numbers, the
figures are accounted for, nothing is fetched from outside the document, and the CLI prints a run."""

from __future__ import annotations

import base64
import dataclasses
import html
import http.server
import io
import re
import shutil
import sys
import threading
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd
import pytest

try:  # WeasyPrint raises OSError when Pango is missing: skip, as for a missing package
    import weasyprint  # noqa: F401
except (ImportError, OSError) as error:
    pytest.skip(f"WeasyPrint cannot load: {error}", allow_module_level=True)
pypdf = pytest.importorskip("pypdf")

from sklearn.linear_model import LogisticRegression  # noqa: E402

from _cli import run as cli  # noqa: E402
from raikit import ParameterError, RaikitError  # noqa: E402
from raikit._html import format_number, frame_html, page_html  # noqa: E402
from raikit._pdf import _offline_fetcher, html_to_pdf  # noqa: E402
from raikit._result import Finding, Result  # noqa: E402
from raikit.audit import audit  # noqa: E402
from raikit.cards import annex_iv, model_card  # noqa: E402
from raikit.datasets import load_german_credit  # noqa: E402
from raikit.ledger import Ledger  # noqa: E402

# A 1x1 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


def text_of(pdf: bytes) -> str:
    """The PDF's text with runs of white space folded to one space (lines break anywhere)."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def n_pages(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def n_images(pdf: bytes) -> int:
    """Raster images drawn on the PDF's pages."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return sum(len(page.images) for page in reader.pages)


def folded(text) -> str:
    return " ".join(str(text).split())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A small real audit (German credit, bias section) recorded in a ledger."""
    ds = load_german_credit().replace(features=["duration_months", "age"])
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression().fit(train.X, train.y)
    folder = tmp_path_factory.mktemp("pdf") / ".raikit"
    report = audit(
        model,
        train=train,
        test=test,
        n_boot=20,
        sections=["bias"],
        ledger=Ledger(folder),
        name="credit",
        random_state=0,
    )
    return report, folder


@pytest.mark.slow
def test_audit_pdf_holds_the_scorecard_and_says_where_figures_were_left_out(recorded):
    report, _ = recorded
    page = report.to_html()
    pdf = report.to_pdf()
    assert pdf.startswith(b"%PDF-") and n_pages(pdf) >= 1
    text = text_of(pdf)
    lead = re.search(r'<p class="lead">(.*?)</p>', page).group(1)  # the summary's first line
    assert folded(html.unescape(lead)) in text and "300 test rows" in lead
    summary = page[page.index('<p class="lead">') : page.index("What matters most")]
    verdicts = [html.unescape(c) for c in re.findall(r"<td[^>]*>(?:<a[^>]*>)?([^<]+)", summary)]
    assert len(verdicts) >= len(report.scorecard)
    assert all(folded(cell) in text for cell in verdicts), verdicts  # the verdict table, on paper
    numbers = re.findall(r"\d+\.\d{3}", " ".join(report.scorecard["reason"]))
    assert numbers and all(n in text for n in numbers)
    # Each interactive figure of the page is accounted for by one note naming it.
    n_figures = page.count('class="plotly-graph-div"')
    assert n_figures >= 2
    assert text.count("left out of the PDF: see the HTML report") == n_figures
    assert "Plotly.newPlot" not in text and "data-raikit" not in text  # no script as text


def test_model_card_pdf_holds_the_accuracy_per_group_as_the_html_shows_it(recorded):
    report, _ = recorded
    card = model_card(report, problem={"name": "Credit screen", "intended_use": "Screening."})
    pdf = card.to_pdf()
    assert pdf.startswith(b"%PDF-") and n_pages(pdf) >= 1
    text = text_of(pdf)
    assert "Model card: Credit screen" in text and folded(card.summary) in text
    assert "Screening." in text
    per_group = card.quantitative["Quantitative analysis per group"]
    accuracy = per_group[per_group["metric"] == "accuracy"]
    assert len(accuracy) >= 2
    html = card.to_html()
    for row in accuracy.itertuples(index=False):
        cells = [format_number(row.value), format_number(row.lower), format_number(row.upper)]
        assert f"<td>{cells[0]}</td>" in html  # formatted as the HTML page formats it
        assert re.search(rf"accuracy {re.escape(cells[0])} {re.escape(cells[1])} ", text), cells
    n_gaps = len(card.gaps)
    assert text.count("Gap. Not documented") == n_gaps > 0


def test_annex_iv_pdf_lists_the_sections_and_the_gaps(recorded, tmp_path):
    report, _ = recorded
    card = annex_iv(report)
    path = tmp_path / "annex.pdf"
    pdf = card.to_pdf(path)
    assert path.read_bytes() == pdf and pdf.startswith(b"%PDF-") and n_pages(pdf) >= 1
    text = text_of(pdf)
    assert folded(card.title) in text and folded(card.summary) in text
    for section in card.fields_table["section"].unique():
        assert folded(section) in text, section
    assert "8. EU declaration of conformity" in text and "Declaration" in text
    assert text.count("Gap. Not documented") == len(card.gaps)


@dataclass(frozen=True, eq=False)
class PdfProbeResult(Result):
    """A small Result with one figure and one table, printed by the base class's to_pdf."""

    table: pd.DataFrame
    findings: tuple = ()
    image: str | None = None  # a picture the figure asks for (an attack)

    @property
    def summary(self) -> str:
        return f"Probe over {len(self.table)} groups."

    def figures(self) -> list:
        import plotly.graph_objects as go

        figure = go.Figure(go.Bar(x=self.table["group"], y=self.table["rate"]))
        if self.image:
            figure.add_layout_image(source=self.image, x=0, y=1, sizex=1, sizey=1)
        return [figure.update_layout(title="Rate by probe group", xaxis_title="probe group")]


@pytest.fixture
def probe():
    table = pd.DataFrame({"group": ["north", "south"], "rate": [0.4375, 0.8125]})
    return PdfProbeResult(table=table, findings=(Finding("warning", "Gap of 0.375"),))


def test_every_result_prints_itself(probe):
    text = text_of(probe.to_pdf(title="Probe of <credit>"))
    assert "Probe of <credit>" in text  # the title, escaped in HTML, read back as text
    assert "Probe over 2 groups." in text and "warning: Gap of 0.375" in text
    assert re.search(r"north 0\.438 .*south 0\.812", text)  # rates to three decimals
    assert text.count("left out of the PDF") == 1 and "“Rate by probe group”" in text


def test_folded_content_stays_folded_and_open_content_is_printed():
    page = (
        "<details><summary>Raw rows</summary><table><tr><td>HIDDEN-CELL</td></tr></table>"
        "</details><details open><summary>Method</summary><p>OPEN-CELL</p></details>"
    )
    text = text_of(html_to_pdf(page))
    assert "Raw rows (folded: see the HTML report)" in text and "HIDDEN-CELL" not in text
    assert "OPEN-CELL" in text


@pytest.mark.parametrize(("columns", "landscape"), [(5, False), (9, False), (11, True), (20, True)])
def test_a_table_too_wide_for_portrait_gets_a_landscape_page(columns, landscape):
    frame = pd.DataFrame([[f"c{i}v{r}" for i in range(columns - 1)] for r in range(3)])
    page = f"<h1>T</h1><p>before</p><h3>Wide one</h3>{frame_html(frame)}<p>after</p>"
    reader = pypdf.PdfReader(io.BytesIO(html_to_pdf(page)))
    shapes = [page.mediabox.width > page.mediabox.height for page in reader.pages]
    assert (any(shapes) == landscape and not shapes[0]) or not landscape
    if landscape:  # the heading travels with its table; the text around stays portrait
        assert shapes == [False, True, False]
        assert "Wide one" in reader.pages[1].extract_text()
        assert "after" in reader.pages[2].extract_text()


def test_a_twenty_column_table_of_a_raikit_page_stays_on_the_paper():
    """The page's own stylesheet (body width, table font) must not push columns off the page."""
    columns = [f"column_name_{i}" for i in range(19)]
    frame = pd.DataFrame([[f"value_{i}_{r}" for i in range(19)] for r in range(3)], columns=columns)
    pdf = html_to_pdf(page_html("Wide", [("Table", frame_html(frame))]))
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        starts = []

        def visit(text, cm, tm, font, size, starts=starts):
            if text.strip():
                starts.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4])

        page.extract_text(visitor_text=visit)
        assert max(starts) < float(page.mediabox.width) - 20  # inside the right margin
    assert "value_18_2" in text_of(pdf).replace("_ ", "_")


@pytest.mark.slow
def test_static_figures_are_drawn_offline(probe):
    pytest.importorskip("kaleido")
    if not (shutil.which("chromium") or shutil.which("google-chrome")):
        pytest.skip("no Chrome or Chromium to draw figures")
    text = text_of(probe.to_pdf(figures="static"))
    assert "left out of the PDF" not in text
    # The figure's title, axis title and tick labels are drawn as text (vector SVG).
    assert "Rate by probe group" in text and "probe group" in text
    assert text.count("north") == 2  # once in the table, once on the figure's axis


@pytest.mark.slow
def test_static_figures_load_no_picture_a_figure_names(probe, server):
    pytest.importorskip("kaleido")
    if not (shutil.which("chromium") or shutil.which("google-chrome")):
        pytest.skip("no Chrome or Chromium to draw figures")
    url, hits = server
    hostile = dataclasses.replace(probe, image=f"{url}/picture.png")
    assert "picture.png" in hostile.to_html()  # the page does ask for it
    text = text_of(hostile.to_pdf(figures="static"))
    assert hits == [] and "Rate by probe group" in text


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):  # pragma: no cover - reached only if the fetcher fails open
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Recorder.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Recorder.hits
    httpd.shutdown()
    httpd.server_close()


def test_a_hostile_page_fetches_nothing(server, tmp_path):
    url, hits = server
    secret = tmp_path / "secret.css"
    secret.write_text('body::before { content: "SECRET-FILE-READ"; }', encoding="utf-8")
    picture = tmp_path / "local.png"
    picture.write_bytes(PNG)
    page = f"""<!DOCTYPE html><html><head>
    <link rel="stylesheet" href="{url}/style.css">
    <link rel="stylesheet" href="{secret.as_uri()}">
    <link rel="stylesheet" href="file:///etc/passwd">
    <style>@import url("{url}/import.css");
      @font-face {{ font-family: X; src: url("{url}/font.woff"); }}
      body {{ background: url("{url}/bg.png"); }}</style>
    </head><body><p>Visible text stays.</p>
    <img src="{url}/pixel.png"><img src="{picture.as_uri()}"><img src="//127.0.0.1/x.png">
    <img src="{url.replace("http", "HTTP")}/upper.png">
    <iframe src="{url}/frame"></iframe><object data="{url}/object.svg"></object>
    <embed src="{url}/embed.svg">
    <svg width="10" height="10"><image href="{url}/svg.png" width="10" height="10"/></svg>
    </body></html>"""
    pdf = html_to_pdf(page)
    assert hits == []
    text = text_of(pdf)
    assert "Visible text stays." in text and "SECRET-FILE-READ" not in text
    assert n_images(pdf) == 0
    # The control: an inline data: image is drawn, so the page did render images.
    inline = f'<img src="data:image/png;base64,{base64.b64encode(PNG).decode()}">'
    assert n_images(html_to_pdf(page.replace("<p>Visible", inline + "<p>Visible"))) == 1


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "FILE:///etc/passwd", " http://127.0.0.1:9/", "https://a.example/"],
)
def test_the_fetcher_refuses_every_url_but_data(url):
    import weasyprint

    with pytest.raises(ValueError, match="load nothing from outside"):
        _offline_fetcher(weasyprint).fetch(url)


def test_text_from_data_cannot_load_anything_through_a_result(recorded, server):
    report, _ = recorded
    url, hits = server
    hostile = f'<img src="{url}/title.png"><link rel="stylesheet" href="{url}/x.css">'
    card = model_card(report, problem={"name": hostile, "intended_use": hostile})
    text = text_of(card.to_pdf())
    assert hits == []
    assert f'Model card: <img src="{url}/title.png">' in text  # shown as text, not loaded


def test_missing_weasyprint_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint -> ImportError
    with pytest.raises(RaikitError, match=re.escape("pip install 'raikit[pdf]'")):
        html_to_pdf("<p>x</p>")


def test_missing_pango_names_the_system_packages(monkeypatch):
    class NoPango:
        def find_spec(self, name, path=None, target=None):
            if name == "weasyprint":
                raise OSError("cannot load library 'libpango-1.0-0': not found")

    monkeypatch.delitem(sys.modules, "weasyprint")
    monkeypatch.setattr(sys, "meta_path", [NoPango(), *sys.meta_path])
    with pytest.raises(
        RaikitError, match=re.escape("apt-get install libpango-1.0-0 libpangoft2-1.0-0")
    ):
        html_to_pdf("<p>x</p>")


def test_unknown_figure_mode_is_a_parameter_error():
    with pytest.raises(ParameterError, match="figures must be one of"):
        html_to_pdf("<p>x</p>", figures="png")


@pytest.mark.slow
def test_cli_prints_a_recorded_run_as_pdf(recorded, tmp_path):
    report, folder = recorded
    run = report.meta["run_id"][:12]
    out = tmp_path / "docs" / "card.pdf"
    result = cli("report", "pdf", run, "--ledger", str(folder), "--what", "model-card", "--out",
                 str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "PDF:" in result.stdout and "KB" in result.stdout
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-") and n_pages(pdf) >= 1
    text = text_of(pdf)
    assert "Model card: credit" in text
    assert folded(model_card(report).summary) in text


@pytest.mark.slow
def test_cli_speaks_in_flags_when_it_cannot_print(recorded):
    report, folder = recorded
    run = report.meta["run_id"][:12]
    bad = cli("report", "pdf", run, "--ledger", str(folder), "--what", "card")
    assert bad.returncode == 2 and "--what must be one of audit, model-card, annex-iv" in bad.stderr
    bad = cli("report", "pdf", run, "--ledger", str(folder), "--problem", "p.yaml")
    assert (
        bad.returncode == 2 and "--problem applies to --what model-card or annex-iv" in bad.stderr
    )
    ledger = Ledger(folder)
    empty = ledger.start_run("not an audit")
    empty.end()
    bad = cli("report", "pdf", empty.id[:12], "--ledger", str(folder))
    assert bad.returncode == 2 and "holds no audit report" in bad.stderr
    assert "raikit runs list --ledger" in bad.stderr and "Traceback" not in bad.stderr
