import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
FIXTURE = HERE / "fixtures" / "ar1"
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A writable copy of the AR(1) fixture project (models/, calibration/, scenarios/)."""
    dest = tmp_path / "project"
    shutil.copytree(FIXTURE, dest)
    return dest


@pytest.fixture
def seeds() -> Path:
    """The source documents beside the checkout; tests that read them skip without them."""
    if not SEEDS.is_dir():
        pytest.skip("the seed documents (../shared/seeds) are not beside this checkout")
    return SEEDS
