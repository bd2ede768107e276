"""What the tests share, in one place: a test module imports from here (and takes the fixtures
of ``tests/conftest.py``), never from another test module (``tests/test_layout.py``).

- ``data``: the real captures and rule files of ``../shared/data`` (skip when absent).
- ``factories``: factory_boy factories and ``person``, the builder of the personas.
- ``alerts``: Falco alerts from the real rule files; Sysdig policy events and command records.
- ``captures``: ``needs_sysdig``, a stand-in sysdig, scap and pcapng bytes.
- ``compliance``: ``make_framework``.
- ``browser``: chromium and axe-core for ``tests/browser``, ``sign_in``, ``run_axe``.
"""
