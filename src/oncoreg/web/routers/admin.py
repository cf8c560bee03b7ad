"""Administration of users and roles (admin role): create, set roles, disable/enable, reset password.

Every change is written to ``user_event`` by ``oncoreg.web.users`` and shown on the user's page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from oncoreg.web import users
from oncoreg.web.deps import Admin, RegistryDep, UserId
from oncoreg.web.roles import Role
from oncoreg.web.schemas import UserCreate, UserCreated, UserEventPublic, UserPublic, UserRolesUpdate
from oncoreg.web.security import flash
from oncoreg.web.templating import render

router = APIRouter(tags=["users"])
RolesForm = Annotated[list[Role], Form()]


def _user_page(
    request: Request, registry: RegistryDep, user_id: UserId, *, new_password: str | None = None
) -> Response:
    account = users.get_user(registry, user_id=user_id)
    events = users.user_events(registry, user_id=user_id)
    context = {"account": account, "events": events, "roles": list(Role), "new_password": new_password}
    return render(request, "admin_user.html", context)


@router.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def user_list(request: Request, admin: Admin, registry: RegistryDep) -> Response:
    """All users with their roles, and the form for a new one."""
    return render(request, "admin_users.html", {"users": users.list_users(registry), "roles": list(Role)})


@router.post("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def user_create(
    request: Request,
    admin: Admin,
    registry: RegistryDep,
    user_name: Annotated[str, Form()],
    full_name: Annotated[str, Form()] = "",
    roles: RolesForm = [],  # noqa: B006  (FastAPI copies defaults per request)
) -> Response:
    """Create a user; the generated password is shown once."""
    new = UserCreate(user_name=user_name.strip(), full_name=full_name.strip() or None, roles=frozenset(roles))
    created = users.create_user(registry, actor=admin.user_name, user=new)
    context = {"users": users.list_users(registry), "roles": list(Role), "created": created}
    return render(request, "admin_users.html", context, status_code=201)


@router.get("/admin/users/{user_id}", response_class=HTMLResponse, include_in_schema=False)
def user_page(request: Request, admin: Admin, registry: RegistryDep, user_id: UserId) -> Response:
    """A user's roles, status and history."""
    return _user_page(request, registry, user_id)


@router.post("/admin/users/{user_id}/roles", response_class=HTMLResponse, include_in_schema=False)
def user_roles(
    request: Request,
    admin: Admin,
    registry: RegistryDep,
    user_id: UserId,
    roles: RolesForm = [],  # noqa: B006
) -> Response:
    """Set a user's roles (an htmx request gets the roles panel back)."""
    account = users.set_roles(registry, actor=admin.user_name, user_id=user_id, roles=frozenset(roles))
    if request.headers.get("HX-Request") == "true":
        context = {"account": account, "roles": list(Role), "saved": True}
        return render(request, "_user_roles.html", context)
    flash(request, "Roles saved.", "success")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/disable", include_in_schema=False)
def user_disable(request: Request, admin: Admin, registry: RegistryDep, user_id: UserId) -> Response:
    """Disable an account (its sessions end at their next request)."""
    users.set_active(registry, actor=admin.user_name, user_id=user_id, active=False)
    flash(request, "Account disabled.", "warning")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/enable", include_in_schema=False)
def user_enable(request: Request, admin: Admin, registry: RegistryDep, user_id: UserId) -> Response:
    """Enable an account again."""
    users.set_active(registry, actor=admin.user_name, user_id=user_id, active=True)
    flash(request, "Account enabled.", "success")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/password", response_class=HTMLResponse, include_in_schema=False)
def user_password(request: Request, admin: Admin, registry: RegistryDep, user_id: UserId) -> Response:
    """Reset a password to a generated one, shown once."""
    password = users.reset_password(registry, actor=admin.user_name, user_id=user_id)
    return _user_page(request, registry, user_id, new_password=password)


@router.get("/api/users", response_model=list[UserPublic])
def api_users(admin: Admin, registry: RegistryDep) -> list[UserPublic]:
    """Every user with their roles."""
    return users.list_users(registry)


@router.post("/api/users", response_model=UserCreated, status_code=201)
def api_user_create(admin: Admin, registry: RegistryDep, user: UserCreate) -> UserCreated:
    """Create a user (a password is generated and returned once unless given)."""
    return users.create_user(registry, actor=admin.user_name, user=user)


@router.put("/api/users/{user_id}/roles", response_model=UserPublic)
def api_user_roles(
    admin: Admin, registry: RegistryDep, user_id: UserId, update: UserRolesUpdate
) -> UserPublic:
    """Set a user's roles."""
    return users.set_roles(registry, actor=admin.user_name, user_id=user_id, roles=update.roles)


@router.get("/api/users/{user_id}/history", response_model=list[UserEventPublic])
def api_user_history(admin: Admin, registry: RegistryDep, user_id: UserId) -> list[UserEventPublic]:
    """The changes of a user account."""
    return users.user_events(registry, user_id=user_id)
