"""Rules of art. 7:220 BW that decide whether, and to whom, a consent letter may go (pure).

- Only renovation needs consent: a *demolition* project has no 70% route (leases end under
  art. 7:274), so no proposal, reminder or 70% notice is ever sent for one.
- The 70% presumption (lid 3) needs 10 or more homes in scope; below that the landlord must go to
  court, so a "70% reached" notice would state the law wrongly.
- The notice goes only to the tenants who did not agree; owner-occupiers never count and never
  get it. The consent use case takes those units from the tally (tally.notice_recipients) and
  names them to the mailing; nobody types them.
- The tenant who did not agree is bound unless they ask the court within 8 weeks of the notice:
  ``objection_deadline`` (entries.py) is the one rule for that last day.
"""

from __future__ import annotations

from keukentafel.domain.messages import MessageKind, policy_of
from keukentafel.domain.model import Project, ProjectKind

MIN_HOMES_FOR_PRESUMPTION = 10
#: Details of consent_reached that are computed (keukentafel.domain.mailing) and may not be given
#: by hand: the dates, and the Dutch text the letters write them as.
COMPUTED_DETAILS = frozenset(
    {"notice_date", "objection_deadline", "notice_date_text", "objection_deadline_text"}
)
#: Details of consent_reached that come from the consent tally on the day it goes out (the
#: consent use case fills them in): the share of the tenants that agreed.
TALLY_DETAILS = frozenset({"share_text"})


class MailingNotAllowed(Exception):
    """This mailing would state the law wrongly or reach the wrong people; nothing was written."""


def check_mailing(
    kind: str,
    project: Project,
    *,
    homes_in_scope: int,
    recipients: list[str] | None,
    details: dict[str, object],
) -> None:
    """Refuse a mailing of ``kind`` that would state the law wrongly or reach the wrong people.

    The kind's policy (keukentafel.domain.messages) says whether it is a consent letter and
    whether it goes to named units only."""
    policy = policy_of(kind)
    if policy.consent and project.kind is ProjectKind.DEMOLITION:
        raise MailingNotAllowed(
            f"{kind}: project {project.code} is a demolition; art. 7:220 consent does not apply"
        )
    if policy.targeted and not recipients:
        raise MailingNotAllowed(
            f"{kind}: name the units it goes to (content file key 'units'): {policy.audience}"
        )
    if policy.kind is MessageKind.CONSENT_REACHED:
        if homes_in_scope < MIN_HOMES_FOR_PRESUMPTION:
            raise MailingNotAllowed(
                f"consent_reached: project {project.code} has {homes_in_scope} rented homes in scope; "
                f"the 70% presumption needs at least {MIN_HOMES_FOR_PRESUMPTION}"
            )
        given = sorted(COMPUTED_DETAILS & set(details))
        if given:
            raise MailingNotAllowed(
                f"consent_reached: {', '.join(given)} are computed from the letter date; remove them"
            )
