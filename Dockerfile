# Concord API server: docker build -t concord . && docker run -p 8080:8080 -v concord-data:/data concord
#
# Build stage. go.mod asks for go 1.26.8; GOTOOLCHAIN=auto lets an older
# cached golang:1.26 image fetch that toolchain instead of failing (the
# official images default to GOTOOLCHAIN=local).
FROM golang:1.26 AS build
ENV GOTOOLCHAIN=auto
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /concord ./cmd/concord
# The data directory, owned by the distroless nonroot user (65532) so that a
# new named volume mounted there is writable.
RUN mkdir -p /data

# Run stage: static binary, CA certificates (Firebase), no shell, not root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /concord /concord
COPY --from=build --chown=65532:65532 /data /data
ENV CONCORD_ADDR=:8080 \
    CONCORD_DATA_DIR=/data
# The embedded SQLite database (when MONGODB_URI is unset) and the generated signing key.
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/concord"]
