"""The one native part: the streaming reader of XLSX sheets (see auditbot/sources/_sheetxml.c)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("auditbot.sources._sheetxml", ["auditbot/sources/_sheetxml.c"],
                             extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"])])
