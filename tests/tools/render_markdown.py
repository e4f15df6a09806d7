"""Renders a Markdown file to HTML with a real CommonMark renderer (markdown-it-py, HTML
enabled, GFM tables on), as a PR comment or a step summary would be rendered."""
import sys

from markdown_it import MarkdownIt

md = MarkdownIt("commonmark", {"html": True}).enable("table")
with open(sys.argv[1], encoding="utf-8") as f:
    sys.stdout.write(md.render(f.read()))
