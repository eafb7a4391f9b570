import pytest

from psa_pipeline.automation.demo import OtherFirm, claim_data_dir


def test_a_data_directory_holds_one_sandbox_firm(tmp_path):
    claim_data_dir(tmp_path, "small-s7-abc")
    claim_data_dir(tmp_path, "small-s7-abc")  # the same firm again: a nightly-like rerun
    assert (tmp_path / "firm").read_text() == "small-s7-abc"
    with pytest.raises(OtherFirm, match="holds the sandbox firm small-s7-abc.*make clean"):
        claim_data_dir(tmp_path, "small-s28891-abc")
    assert (tmp_path / "firm").read_text() == "small-s7-abc"  # refused: nothing changed
