"""The executive dashboard (read-only): one entry script that declares the pages.

    streamlit run psa_pipeline/dashboard/app.py --server.address 127.0.0.1 \
        --server.port 8501 --server.headless true --browser.gatherUsageStats false

It reads the published copy of the marts (psa_pipeline/dashboard/publish.py), or on a Postgres
warehouse the marts on a read-only session; see psa_pipeline/dashboard/data.py.
"""

import streamlit as st

from psa_pipeline.dashboard import shell
from psa_pipeline.dashboard.pages import page_specs
from psa_pipeline.settings import load_dashboard_settings

st.set_page_config(page_title="PSA Pipeline", page_icon=":material/monitoring:", layout="wide")

shell.start(load_dashboard_settings())
navigation = st.navigation(
    [
        st.Page(
            spec.script,
            title=spec.label,
            icon=spec.icon,
            url_path=spec.name,
            default=index == 0,
        )
        for index, spec in enumerate(page_specs().values())
    ]
)
navigation.run()
