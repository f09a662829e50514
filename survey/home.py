"""What the survey puts first on a user's home page (accounts.views.home composes these)."""

from survey.inbox import waiting_for


def home_context(user):
    """The campaign's inbox: my return, returns to review or submit for, townships to sign off,
    overdue villages and rectification items."""
    return {"inbox": waiting_for(user)}
