"""Sign-up, sign-in (a session cookie for browsers), sign-out, API tokens for scripts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from quantdesk.api.deps import CSRF_COOKIE, SESSION_COOKIE, CallerDep, ServicesDep
from quantdesk.api.schemas import (
    Credentials,
    Id,
    Me,
    NewToken,
    SessionOut,
    SessionState,
    TokenIn,
    TokenOut,
    UserOut,
)
from quantdesk.domain.errors import NotAuthenticated
from quantdesk.services import auth, prices

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(body: Credentials, services: ServicesDep) -> UserOut:
    """Create a user (a taken name is 409)."""
    user_id = auth.register(services.auth, body.username, body.password, clock=services.clock)
    return UserOut(id=user_id, username=body.username.strip())


@router.post("/login")
def login(
    body: Credentials, request: Request, response: Response, services: ServicesDep
) -> SessionOut:
    """Open a browser session: an HttpOnly session cookie, and a CSRF token (in the body
    and a readable cookie) for the page to echo in ``X-CSRF-Token`` on writes. Failed
    logins are limited per account and per address (429 with Retry-After)."""
    settings = services.settings
    address = request.client.host if request.client else "unknown"
    session = auth.login(
        services.auth,
        body.username,
        body.password,
        address=address,
        clock=services.clock,
        limits=settings.login_limits,
        session_ttl=settings.session_ttl,
    )
    age = int(settings.session_ttl.total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=age,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        session.csrf_token,
        max_age=age,
        httponly=False,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return SessionOut(
        id=session.user_id,
        username=session.user_name,
        csrf_token=session.csrf_token,
        expires_at=session.expires_at,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(caller: CallerDep, response: Response) -> Response:
    """End this session (or revoke the API token the request used)."""
    auth.logout(caller.services.auth, caller.principal)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.status_code = status.HTTP_204_NO_CONTENT
    return response


@router.get("/session")
def current_session(request: Request, services: ServicesDep) -> SessionState:
    """Whether this browser is signed in, and as whom; never 401, so a page can ask
    before it shows the sign-in form (the cookie is checked like any other request's)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return SessionState(signed_in=False, user=None)
    try:
        found = auth.authenticate(services.auth, token, kind=auth.SESSION, clock=services.clock)
    except NotAuthenticated:
        return SessionState(signed_in=False, user=None)
    return SessionState(signed_in=True, user=UserOut(id=found.user_id, username=found.user_name))


@router.get("/me")
def me(caller: CallerDep) -> Me:
    return Me(
        id=caller.user_id,
        username=caller.principal.user_name,
        market=prices.user_market(caller.uow),
        auth="api" if caller.principal.kind == auth.API_TOKEN else "session",
    )


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenIn, caller: CallerDep) -> NewToken:
    """An API token for scripts (``Authorization: Bearer <token>``); the secret is in
    this answer only."""
    issued = auth.create_api_token(
        caller.services.auth,
        caller.principal,
        body.name,
        clock=caller.services.clock,
        expires_in_days=body.expires_in_days,
    )
    return NewToken(
        id=issued.id,
        name=issued.name,
        token=issued.token,
        created_at=issued.created_at,
        expires_at=issued.expires_at,
    )


@router.get("/tokens")
def list_tokens(caller: CallerDep) -> list[TokenOut]:
    return [
        TokenOut(
            id=t.id,
            name=t.name,
            created_at=t.created_at,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
        )
        for t in auth.list_api_tokens(caller.services.auth, caller.principal)
    ]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: Id, caller: CallerDep) -> None:
    auth.revoke_api_token(caller.services.auth, caller.principal, token_id)
