"""``crm demo`` fills the CRM with customers, contacts, follow-ups and tasks, once."""

from kernel import Actor
from kernel.testing import seed_demo


def test_demo_seeds_customers_with_their_activity_once(site):
    seed_demo(site, Actor.system("cli"))
    admin = Actor.system()
    customers = site.records.list(admin, "customers", limit=50).items
    assert {"杭州云帆科技有限公司", "Northwind Traders Ltd."} <= {c["name"] for c in customers}
    assert all(c["owner_id"] is not None for c in customers)
    assert all(c["last_followed_at"] is not None for c in customers)  # the follow-ups moved it
    for entity in ("contacts", "followups", "tasks"):
        assert site.records.list(admin, entity).total == len(customers)
    seed_demo(site, Actor.system("cli"))
    assert site.records.list(admin, "customers").total == len(customers)
