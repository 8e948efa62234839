# syntax=docker/dockerfile:1
# wsgate: a static binary on a distroless, non-root base. No shell in the image: the health check
# is the binary itself (`wsgate healthcheck`).
#
#   docker build -t wsgate .          (or: podman build / buildah bud)
#   docker run -p 8080:8080 wsgate                       (the demo API)
#   docker run -p 8080:8080 -v $PWD/wsgate.yaml:/etc/wsgate/wsgate.yaml:ro wsgate \
#       serve --config /etc/wsgate/wsgate.yaml --listen 0.0.0.0:8080

FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
      -X github.com/wsgate/wsgate/internal/cli.Version=${VERSION} \
      -X github.com/wsgate/wsgate/internal/cli.Commit=${COMMIT} \
      -X github.com/wsgate/wsgate/internal/cli.Date=${DATE}" \
    -o /out/wsgate ./cmd/wsgate \
 && /out/wsgate version

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/wsgate /usr/local/bin/wsgate
# nonroot is uid 65532 with home /home/nonroot; the state directory (local CA) is kept there.
ENV WSGATE_STATE_DIR=/home/nonroot/state \
    WSGATE_HEALTH_URL=http://127.0.0.1:8080/healthz
USER 65532:65532
EXPOSE 8080
# SIGTERM: wsgate closes every socket with 1001, runs each $disconnect and exits within
# shutdown.gracePeriod (10 s by default); give `docker stop -t` at least that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/wsgate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/wsgate"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
