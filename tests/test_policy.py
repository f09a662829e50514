from registry.models import Region


def test_cast_builds(cast):
    assert Region.objects.visible_to(cast["cadre_a"]).count() == 1
