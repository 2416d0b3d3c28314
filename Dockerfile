# The operator's image: Debian 12 (bookworm) slim, Debian's Python 3.11, the package installed from a wheel
# built in the first stage, run as uid 65532 with `azure-speech-operator run` as entrypoint (flags as the
# container's args; the Helm chart and deploy/ pass them).
#
# The base is pinned to a Debian point release. `make image` builds this file with buildah and no registry:
# it makes the same base from Debian's mirror with debootstrap and passes it as BASE_IMAGE
# (docs/install.md, "Container image").
ARG BASE_IMAGE=docker.io/library/debian:12.15-slim

FROM ${BASE_IMAGE} AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY operator ./operator
# The wheel, built by the locked build backend (requirements/build.txt), then a venv holding it and the
# locked dependencies (requirements/image.txt): exact versions, each wheel's sha256 checked
# (--require-hashes also refuses any package the lock does not name), so two builds install the same files;
# pip check proves the lock gives the wheel everything it asks for. `make image-lock` refreshes the locks from
# pyproject.toml's ranges (docs/install.md, "Container image"). A secret `build-ca` (a CA bundle) is trusted
# for PyPI, for networks that inspect TLS; `make image` passes the build machine's. It stays out of the
# image. Left out of the venv: pip, setuptools and the kubernetes package's asyncio client (about 70 MB; the
# operator uses its synchronous client, kopf neither; `make image` runs `azure-speech-operator run --help`,
# which imports what the operator runs on).
RUN --mount=type=secret,id=build-ca \
    if [ -s /run/secrets/build-ca ]; then export PIP_CERT=/run/secrets/build-ca; fi \
    && python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements/build.txt \
    && /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
    && python3 -m venv /opt/azure-speech-operator \
    && /opt/azure-speech-operator/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
        -r requirements/image.txt \
    && /opt/azure-speech-operator/bin/pip install --no-cache-dir --no-deps --no-index /wheels/*.whl \
    && /opt/azure-speech-operator/bin/pip check \
    && /opt/azure-speech-operator/bin/pip uninstall --yes pip setuptools \
    && rm -rf /opt/azure-speech-operator/lib/python3.11/site-packages/kubernetes/aio

FROM ${BASE_IMAGE}
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="azure-speech-operator" \
      org.opencontainers.image.description="Kubernetes operator for Azure AI Speech custom endpoints" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
# python3 for the venv's interpreter (the same Debian package as in the build stage); CA certificates for
# Azure and the API server
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/azure-speech-operator /opt/azure-speech-operator
# the root filesystem is read-only in the pod: no bytecode written at run time (the wheel's is compiled)
ENV PATH=/opt/azure-speech-operator/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 65532:65532
ENTRYPOINT ["azure-speech-operator", "run"]
