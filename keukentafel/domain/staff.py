"""Who on the team may see what on the staff page.

Staff sign in with Microsoft Entra ID; the id token carries the app roles of the registration
(``admin``, ``guide``). An ``admin`` sees every project of the corporation: households, last
contact, open items and histories, but not the special-category notes (no need to know). A
``guide`` sees the projects the corporation file lists for them (``web.staff.guides``), and may
open a household's restricted notes there; every such view goes to the audit log. Anyone without
either role sees nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    GUIDE = "guide"


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A signed-in member of staff (from a verified id token)."""

    object_id: str  # Entra ``oid``: what the audit log names
    username: str  # ``preferred_username``, lower case
    display_name: str
    roles: frozenset[Role]
    guide_projects: frozenset[str]  # project codes from the corporation file

    @property
    def actor(self) -> str:
        """How logs and the audit trail name this person: the object id, never a name."""
        return f"entra:{self.object_id}"


def staff_member(
    *,
    object_id: str,
    username: str,
    display_name: str,
    roles: Iterable[str],
    guides: Mapping[str, Iterable[str]],
) -> StaffMember:
    """The member of staff for a verified token: known roles only, and a guide's projects from
    the configuration (by object id or by user name)."""
    known = frozenset(Role(r) for r in roles if r in {m.value for m in Role})
    name = username.strip().lower()
    projects = frozenset(guides.get(object_id.lower(), ())) | frozenset(guides.get(name, ()))
    return StaffMember(object_id, name, display_name, known, projects)


def may_see_project(member: StaffMember, project_code: str) -> bool:
    if Role.ADMIN in member.roles:
        return True
    return Role.GUIDE in member.roles and project_code in member.guide_projects


def may_see_restricted_notes(member: StaffMember, project_code: str) -> bool:
    """Only a guide on the project (special-category data: need to know, and audited)."""
    return Role.GUIDE in member.roles and project_code in member.guide_projects


def may_revoke_links(member: StaffMember, project_code: str) -> bool:
    return may_see_project(member, project_code)


def visible_projects(member: StaffMember, project_codes: Iterable[str]) -> list[str]:
    return [code for code in project_codes if may_see_project(member, code)]


def may_see_unmatched_replies(member: StaffMember) -> bool:
    """E-mail replies that fit no household (open items of project ``-``): an admin only. The
    reply may come from a resident of any project, so only a role that sees every project may
    read it; a guide sees the replies of their own projects' households."""
    return Role.ADMIN in member.roles


def may_record_consent(member: StaffMember, project_code: str) -> bool:
    """Recording a paper or visit answer: a guide on the project, or an admin."""
    return may_see_project(member, project_code)
