"""Business logic and authorization.

Plain functions ``fn(db, actor, ...)``; no Reflex or FastAPI imports. Every function that reads
or changes a project, team or instance setting checks the acting principal's role here, so a
right is enforced in one place whichever door (REST, web UI, worker) the call came through.
"""
