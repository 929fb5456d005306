"""One stack for the whole e2e session: started once, torn down by PID even if a test or start-up fails."""

import pytest

from tests.e2e.client import Operator, Partner
from tests.e2e.stack import BROKERS, STAFF_USERNAME, Stack
from tests.http_servers import GarmentServer, WebhookReceiver

_running_stack: Stack | None = None


@pytest.fixture(autouse=True)
def _clean_cache():
    """The unit tests' cache reset is meaningless here: the stack's cache lives in its own Redis."""
    yield


def pytest_generate_tests(metafunc):
    """Tests marked `each_broker` run on a stack per broker (Redis, then RabbitMQ); the rest on Redis only.

    The stack is parametrized indirectly at session scope, so pytest groups the tests by broker and keeps
    one stack at a time: the Redis one is torn down before the RabbitMQ one starts.
    """
    if "stack" in metafunc.fixturenames:
        brokers = BROKERS if metafunc.definition.get_closest_marker("each_broker") else BROKERS[:1]
        metafunc.parametrize("stack", brokers, indirect=True, scope="session")


@pytest.fixture(scope="session")
def stack(request, tmp_path_factory):
    global _running_stack
    stack = Stack(tmp_path_factory.mktemp(f"stack-{request.param}"), broker=request.param)
    try:
        stack.start()
    except BaseException:
        print(stack.diagnostics())
        stack.stop()
        raise
    _running_stack = stack
    print(f"\ne2e stack: {stack.base_url} ({stack.broker}), database {stack.database}, logs {stack.workdir}")
    try:
        yield stack
    finally:
        _running_stack = None
        stack.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _running_stack is not None:
        report.sections.append(("e2e stack logs (tails)", _running_stack.diagnostics()))


@pytest.fixture(scope="session")
def garments():
    server = GarmentServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def receiver():
    server = WebhookReceiver()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def operator(stack) -> Operator:
    return Operator.login(stack.api, STAFF_USERNAME, stack.staff_password)


@pytest.fixture
def fresh_partner(stack, operator):
    """A new organization (100 signup credits) and an all-scope key with a high rate limit."""

    def build(name="E2E Shop", rate_limit=5000, scopes=("all",)):
        organization = operator.create_organization(name)
        key = operator.create_api_key(organization["id"], scopes=scopes, rate_limit=rate_limit)
        partner = Partner(stack.api, key["key"])
        partner.organization_id = organization["id"]
        partner.key_id = key["id"]
        return partner

    return build


# Journey first, fault injection last: a fault test that failed to mend the stack must not fail the others.
_MODULE_ORDER = ["test_flow", "test_sdks", "test_metrics_scrape", "test_fuzz", "test_load", "test_faults"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Order the e2e tests by broker, then module (one stack per broker, started once); every other test
    keeps its place. Runs after pytest's own reordering by fixture parameters, which would interleave them."""

    def module(item):
        return (
            item.module.__name__.rsplit(".", 1)[-1] if item.module.__name__.startswith("tests.e2e.") else None
        )

    def broker(item):
        callspec = getattr(item, "callspec", None)
        return BROKERS.index(callspec.params["stack"]) if callspec and "stack" in callspec.params else 0

    slots = [index for index, item in enumerate(items) if module(item) in _MODULE_ORDER]
    ordered = sorted(
        (items[index] for index in slots), key=lambda item: (broker(item), _MODULE_ORDER.index(module(item)))
    )
    for index, item in zip(slots, ordered, strict=True):
        items[index] = item
