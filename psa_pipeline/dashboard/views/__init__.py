"""The dashboard's pages: one script per page, which st.navigation runs (app.py); not imported."""
