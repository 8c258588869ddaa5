# syntax=docker/dockerfile:1
# The fsnb feature server. One image serves any repo: the registry and the online store come from
# FSNB_REGISTRY / FSNB_ONLINE_STORE, tokens from the environment variables fsnb.yaml names (${VAR}).
#   docker build -t fsnb:0.1.0 .
#   docker run -p 6566:6566 -e FSNB_REGISTRY=postgresql://... -e FSNB_ONLINE_STORE=redis://... fsnb:0.1.0
# A repo's fsnb.yaml (project, auth) is mounted at /srv/fsnb/fsnb.yaml; `fsnb deploy k8s` writes the manifests.
ARG PYTHON_VERSION=3.12

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ARG EXTRAS=server,postgres
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY fsnb ./fsnb
RUN python -m venv /opt/fsnb \
    && /opt/fsnb/bin/pip install ".[${EXTRAS}]"

FROM python:${PYTHON_VERSION}-slim-bookworm
LABEL org.opencontainers.image.title="fsnb" \
      org.opencontainers.image.description="fsnb feature server"
RUN groupadd --system --gid 10001 fsnb \
    && useradd --system --uid 10001 --gid fsnb --home-dir /srv/fsnb --no-create-home fsnb \
    && mkdir -p /srv/fsnb/.fsnb \
    && chown -R fsnb:fsnb /srv/fsnb
COPY --from=build /opt/fsnb /opt/fsnb
ENV PATH=/opt/fsnb/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FSNB_PORT=6566
WORKDIR /srv/fsnb
USER 10001:10001
EXPOSE 6566
HEALTHCHECK --interval=15s --timeout=4s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:' + os.environ.get('FSNB_PORT', '6566') + '/health', timeout=3).status != 200)"]
ENTRYPOINT ["fsnb"]
CMD ["serve", "--host", "0.0.0.0", "--port", "6566"]
