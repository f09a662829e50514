"""Page links of a long list (a county's children run to hundreds of pages): the first and the last
page, a window around the current one, and a gap (None, shown as …) where numbers are skipped."""


def page_window(page, *, around=2):
    """[number or None] to link for ``page`` (a Django Page): 1 … 6 7 [8] 9 10 … 769."""
    last = page.paginator.num_pages
    shown = {1, last, *range(max(1, page.number - around), min(last, page.number + around) + 1)}
    window = []
    for number in sorted(shown):
        if window and number - window[-1] > 1:
            # A gap of one page is shown as that page, not as "…" standing for one number.
            window.append(number - 1 if number - window[-1] == 2 else None)
        window.append(number)
    return window
