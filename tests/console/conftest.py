# The pipeline's fixtures (photos on a temporary media root, sessions made through the service).
from tests.tryons.conftest import make_cart_session, media_root, photo_of  # noqa: F401
