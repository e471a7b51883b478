import kernel


def test_public_surface_is_exactly_all():
    public = {name for name in dir(kernel) if not name.startswith("_") and not isinstance(getattr(kernel, name), type(kernel))}
    assert public == set(kernel.__all__)
    assert sorted(kernel.__all__, key=str.lower) == sorted(set(kernel.__all__), key=str.lower)


def test_kernel_never_names_a_business_module():
    import pathlib

    business = ("customers", "leads", "lead_pools", "seas", "opportunit", "orders", "payments", "tickets", "campaign", "coupons")
    root = pathlib.Path(kernel.__file__).parent
    offenders = [
        f"{path.relative_to(root)}: {word}"
        for path in root.rglob("*.py")
        for word in business
        if word in path.read_text(encoding="utf-8").lower()
    ]
    assert offenders == []
