"""The one native part: the streaming reader of XLSX sheets (see auditbot/sources/tabular/_sheetxml.c)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("auditbot.sources.tabular._sheetxml", ["auditbot/sources/tabular/_sheetxml.c"],
                             extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"])])
