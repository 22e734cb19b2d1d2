"""Every link of the documentation leads somewhere: the docs cannot cite a page that is not there.

Invariant: in every Markdown file of the repository (docs/, every README, the examples; not
.venv, caches or build output), every relative link and image target names a file or folder
that exists inside the repository, and every ``#anchor`` into a Markdown file (the same file
or another) names one of its headings, slugged as GitHub slugs them (lowercase, punctuation
dropped, spaces to hyphens, ``-1``, ``-2`` ... for repeats) or an HTML ``id``/``name``.
Links are read with markdown-it-py (CommonMark plus tables), so a link inside a code span or a
fenced block is no link, and a reference-style link counts as one. External links are not
fetched (no network here); they must be well-formed ``http(s)://host...`` or ``mailto:``.

The code cites pages too (``see docs/git-repositories.md`` in a message, a comment, a file
header it writes): every ``docs/...md`` named in any other text file of the repository exists,
and its ``#anchor``, if any, names a heading. That is how a citation of
``docs/how-to/git-repositories.md``, a page that never existed, went unseen.

docs/threat-model.md's links to tests are checked, test by test, by test_threat_model_links.py.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent

# Folders that hold no documentation of ours: tools' caches, virtual environments, build
# output, test artifacts. Every folder whose name starts with a dot is skipped too.
SKIPPED_FOLDERS = {"node_modules", "build", "dist", "__pycache__", "test-artifacts"}
# A GitHub line anchor (file.py#L10, #L10-L20): valid on any file that is not Markdown.
LINE_ANCHOR = re.compile(r"L\d+(-L\d+)?")
# A page of docs/ cited in code or configuration: `docs/x.md`, `docs/how-to/x.md#part`, or
# `../docs/x.md` in Markdown text a program writes (read from the repository's root); never
# the docs/ of another folder (`sqlmodel-framework/docs/x.md`).
CITED_PAGE = re.compile(
    r"(?<![\w./-])(?:\.\./)*(?P<page>docs/[\w./-]*?\.md)(?:#(?P<anchor>[\w-]+))?"
)
# Files the citation check reads: text up to this size (larger ones are data, not code).
CITING_FILE_MAX_BYTES = 1_000_000

PARSER = MarkdownIt("commonmark").enable("table")


def _walk(suffix: str | None, root: Path = ROOT) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if not name.startswith(".")
            and name not in SKIPPED_FOLDERS
            and not name.endswith(".egg-info")
        )
        for name in sorted(files):
            if suffix is None or name.endswith(suffix):
                yield Path(folder) / name


def markdown_files() -> list[Path]:
    """Every Markdown file of the repository, outside caches, environments and build output."""
    return list(_walk(".md"))


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading of ``text`` (before numbering repeats): lowercase;
    letters, digits, marks, ``_``, ``-`` and spaces kept, everything else dropped; each space a
    hyphen (github-slugger's rule: `` / `` becomes ``--``, nothing is collapsed)."""
    kept = (
        char
        for char in text.strip().lower()
        if char.isalnum() or char in "-_ " or unicodedata.category(char).startswith("M")
    )
    return "".join(kept).replace(" ", "-")


def _plain_text(inline: Token) -> str:
    """What a heading's inline token reads as: its text and code spans, without markup."""
    return "".join(
        child.content for child in inline.children or [] if child.type in ("text", "code_inline")
    )


class _HtmlTargets(HTMLParser):
    """The ``href``/``src`` of ``<a>``/``<img>`` tags and the ``id``/``name`` anchors of HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.anchors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        if tag == "a" and "href" in values:
            self.targets.append(values["href"])
        if tag == "img" and "src" in values:
            self.targets.append(values["src"])
        self.anchors.extend(values[name] for name in ("id", "name") if name in values)


def _html(content: str) -> _HtmlTargets:
    parser = _HtmlTargets()
    parser.feed(content)
    parser.close()
    return parser


def _all_tokens(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _all_tokens(token.children)


@cache
def parsed(path: Path) -> tuple[list[tuple[int, str]], frozenset[str]]:
    """``path``'s link and image targets (with their line) and the anchors it defines."""
    tokens = PARSER.parse(path.read_text(encoding="utf-8"))
    targets: list[tuple[int, str]] = []
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    line = 0
    for index, token in enumerate(tokens):
        if token.map:
            line = token.map[0] + 1
        if token.type == "heading_open":
            slug = github_slug(_plain_text(tokens[index + 1]))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
        for item in _all_tokens([token]):
            if item.type == "link_open":
                targets.append((line, str(item.attrs["href"])))
            elif item.type == "image":
                targets.append((line, str(item.attrs["src"])))
            elif item.type in ("html_block", "html_inline"):
                html = _html(item.content)
                targets.extend((line, target) for target in html.targets)
                anchors.update(html.anchors)
    return targets, frozenset(anchors)


def anchor_problem(page: Path, anchor: str, root: Path = ROOT) -> str | None:
    """Why ``#anchor`` does not lead into ``page`` (None when it does)."""
    if page.suffix != ".md":
        if LINE_ANCHOR.fullmatch(anchor):
            return None
        return f"only line anchors (#L10) can be checked in {page.name}"
    _, anchors = parsed(page)
    if unquote(anchor) in anchors:
        return None
    near = sorted(a for a in anchors if a[:4] == anchor[:4]) or sorted(anchors)[:8]
    return f"no such heading in {page.relative_to(root)} (it has: {', '.join(near)})"


def external_problem(target: str) -> str | None:
    """Why an external link is malformed (None when it is well-formed); it is not fetched."""
    parts = urlsplit(target)
    if parts.scheme == "mailto":
        return None if "@" in parts.path else f"{target}: a mailto: link needs an address"
    if parts.scheme not in ("http", "https"):
        return f"{target}: only http(s) and mailto links leave the repository"
    if not parts.hostname or any(char.isspace() for char in target):
        return f"{target}: not a well-formed URL (scheme://host/...)"
    return None


def link_problem(page: Path, target: str, root: Path = ROOT) -> str | None:
    """Why ``target``, a link of ``page``, leads nowhere (None when it leads somewhere)."""
    if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return external_problem(target)
    path_part, _, anchor = target.partition("#")
    if not path_part:
        if not anchor:
            return f"{target}: an empty link"
        problem = anchor_problem(page, anchor, root)
        return None if problem is None else f"{target}: {problem}"
    if "?" in path_part:
        return f"{target}: a query string in a link to a file of the repository"
    relative = unquote(path_part)
    base = root if relative.startswith("/") else page.parent
    resolved = (base / relative.lstrip("/")).resolve()
    if not resolved.is_relative_to(root):
        return f"{target}: leads out of the repository"
    if not resolved.exists():
        return f"{target}: no such file ({resolved.relative_to(root)})"
    if anchor and (problem := anchor_problem(resolved, anchor, root)) is not None:
        return f"{target}: {problem}"
    return None


def problems_of(page: Path, root: Path = ROOT) -> list[str]:
    """Every link or image of ``page`` that leads nowhere, as ``page:line: target: why``."""
    targets, _ = parsed(page)
    where = page.relative_to(root)
    found = []
    for line, target in targets:
        problem = link_problem(page, target, root)
        if problem is not None:
            found.append(f"{where}:{line}: {problem}")
    return found


def citing_files() -> Iterator[Path]:
    """Every text file of the repository that is not Markdown (code, configuration, templates:
    ``airflow-repos.yaml`` headers, copier.yml, Makefiles ...); not this file, whose examples
    cite missing pages on purpose."""
    for path in _walk(None):
        if path.suffix == ".md" or path.is_symlink() or not path.is_file():
            continue
        if path == Path(__file__).resolve():
            continue
        if path.stat().st_size > CITING_FILE_MAX_BYTES:
            continue
        yield path


def citation_problems() -> list[str]:
    found = []
    for path in citing_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # a binary file cites nothing
            continue
        for match in CITED_PAGE.finditer(text):
            page, anchor = ROOT / match["page"], match["anchor"]
            line = text.count("\n", 0, match.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}: {match[0]}"
            if not page.is_file():
                found.append(f"{where}: no such page")
            elif anchor and (problem := anchor_problem(page, anchor)) is not None:
                found.append(f"{where}: {problem}")
    return found


# -- the repository ------------------------------------------------------------------------
PAGES = markdown_files()


def test_the_documentation_is_found() -> None:
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert {"README.md", "docs/README.md", "platform-cli/README.md"} <= names
    assert sum(name.startswith("docs/decisions/") for name in names) >= 12
    assert not any(name.startswith((".venv/", ".pytest_cache/")) for name in names)


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_and_image_leads_somewhere(page: Path) -> None:
    assert problems_of(page) == []


def test_every_page_of_docs_cited_in_code_exists() -> None:
    assert citation_problems() == []


def test_every_page_of_docs_is_reachable_from_docs_readme() -> None:
    """No page of docs/ is an orphan: docs/README.md links it, or a page it links does."""
    index = ROOT / "docs" / "README.md"
    reached, todo = {index}, [index]
    while todo:
        page = todo.pop()
        for _, target in parsed(page)[0]:
            if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
                continue
            resolved = (page.parent / unquote(target.partition("#")[0])).resolve()
            pages = sorted(resolved.glob("*.md")) if resolved.is_dir() else [resolved]
            for linked in pages:
                inside = linked.suffix == ".md" and linked.is_relative_to(ROOT / "docs")
                if inside and linked not in reached:
                    reached.add(linked)
                    todo.append(linked)
    orphans = sorted(
        str(page.relative_to(ROOT))
        for page in PAGES
        if page.is_relative_to(ROOT / "docs") and page not in reached
    )
    assert orphans == []


# -- the checker itself, on pages written here -----------------------------------------------
@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Where the store is", "where-the-store-is"),
        (
            "Git repositories as DAG sources (`adp repos`)",
            "git-repositories-as-dag-sources-adp-repos",
        ),
        ("The base's own Airflow and Python", "the-bases-own-airflow-and-python"),
        ("Settings (`.env`)", "settings-env"),
        ("Publish, and see it in seconds", "publish-and-see-it-in-seconds"),
        ("Sources / store", "sources--store"),
        ("snake_case and 3.3 Airflow", "snake_case-and-33-airflow"),
        ("Diátaxis", "diátaxis"),
        ("0007: The local stack", "0007-the-local-stack"),
    ],
)
def test_headings_are_slugged_as_github_slugs_them(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_the_checker_finds_every_kind_of_broken_link(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    (root / "docs" / "decisions").mkdir(parents=True)
    (root / "docs" / "README.md").write_text("# Docs\n", encoding="utf-8")
    (root / "docs" / "dag-sync.md").write_text("# Sync\n\n## Health\n", encoding="utf-8")
    page = root / "docs" / "page.md"
    page.write_text(
        '# Title\n\n## Part\n\n## Part\n\n<a id="custom"></a>\n\n'
        "[ok](README.md) [ok](#part-1) [ok](#custom) [ok](dag-sync.md#health)\n"
        "[ok](decisions/) [ok](https://diataxis.fr/) ![ok](../docs/README.md)\n"
        "[ok](/docs/README.md) [ok](mailto:team@example.com)\n\n"
        "| a | [gone](no-such-page.md) |\n|---|---|\n\n"
        "[bad anchor](#no-such-part) [bad](dag-sync.md#nowhere)\n"
        "![gone](pictures/none.png) [out](../../outside.md) [bad url](https://)\n"
        '<img src="pictures/gone.png"> [ref][r] `[not a link](nowhere.md)`\n\n'
        "```\n[not a link](nowhere.md)\n```\n\n[r]: gone-too.md\n",
        encoding="utf-8",
    )
    found = [problem.split(": ", 1)[1] for problem in problems_of(page, root)]
    assert [problem.split(":")[0] for problem in found] == [
        "no-such-page.md",
        "#no-such-part",
        "dag-sync.md#nowhere",
        "pictures/none.png",
        "../../outside.md",
        "https",
        "pictures/gone.png",
        "gone-too.md",
    ]
    assert found[0].startswith("no-such-page.md: no such file (docs/no-such-page.md)")
    assert "(it has: health, sync)" in found[2]


def test_a_cited_page_that_does_not_exist_is_named() -> None:
    text = (
        "raise X('see docs/how-to/git-repositories.md')  # and docs/dag-sync.md#health\n"
        "HEADER = '[guide](../docs/dag-bundle.md)'; other = 'sqlmodel-framework/docs/x.md'\n"
    )
    cited = [(match["page"], match["anchor"]) for match in CITED_PAGE.finditer(text)]
    assert cited == [
        ("docs/how-to/git-repositories.md", None),
        ("docs/dag-sync.md", "health"),
        ("docs/dag-bundle.md", None),
    ]
    assert not (ROOT / cited[0][0]).is_file()
    assert anchor_problem(ROOT / "docs" / "dag-sync.md", "health") is None
    assert anchor_problem(ROOT / "docs" / "dag-sync.md", "nowhere") is not None


# Heading text without Markdown syntax (emphasis, code, links, entities, escapes): letters and
# digits of any script, spaces, and punctuation that is only text in a heading.
HEADING_TEXT = st.text(
    st.one_of(
        st.characters(categories=("L", "N"), codec="utf-8"),
        st.sampled_from(" .,:;'!?()-/+=%@$\"{}"),
    ),
    min_size=1,
    max_size=40,
).filter(lambda text: github_slug(text) != "" and text.strip() == text)


@settings(max_examples=150, deadline=None)
@given(headings=st.lists(HEADING_TEXT, min_size=1, max_size=4))
def test_a_link_to_the_slug_of_any_heading_resolves_and_repeats_are_numbered(
    headings: list[str],
) -> None:
    """Whatever a heading says, ``#<its slug>`` leads to it; the n-th repeat is ``-n``."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve()
        page = root / "page.md"
        body = "".join(f"## {text}\n\n" for text in headings + headings)
        page.write_text(body, encoding="utf-8")
        parsed.cache_clear()
        _, anchors = parsed(page)
        for text in headings:
            slug = github_slug(text)
            count = sum(github_slug(other) == slug for other in headings)
            assert slug in anchors
            assert f"{slug}-{2 * count - 1}" in anchors
            assert anchor_problem(page, slug, root) is None


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300), target=st.text(max_size=40))
def test_any_page_gives_problems_never_a_crash(text: str, target: str) -> None:
    """Any Markdown, with any link target in it, is read: each bad link is a problem line."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder).resolve()
        page = root / "page.md"
        page.write_text(f"{text}\n\n[x](<{target}>) ![y]({target})\n", encoding="utf-8")
        parsed.cache_clear()
        found = problems_of(page, root)
        assert all(line.startswith("page.md:") for line in found)
