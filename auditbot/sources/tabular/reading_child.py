"""The process that reads a file for an import: `python -m auditbot.sources.tabular.reading_child FD`, started by
`children.start_reader` with its job on stdin and the pipe's write end as FD (see pipeline.py)."""

from __future__ import annotations

import sys

from auditbot.sources.tabular import reading_process as children
from auditbot.sources.tabular.pipeline import child_main


def main() -> None:
    job, connection = children.reader_job(sys.argv)
    child_main(job, connection)


if __name__ == "__main__":
    main()
