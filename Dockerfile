# The pipeline as a container: `docker build -t schema-first-pipeline .`, then
# `docker run --env-file .env schema-first-pipeline` (consume) or `… schema-first-pipeline migrate up`.
# Both stages use one exact Node.js release (the one the project is tested with), never a moving tag.

# Build: the dev dependencies (TypeScript) compile src/ into dist/; nothing of this stage ships.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the only one is the local stack's embedded PostgreSQL, which a build does not need.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# Run: production dependencies, the compiled JavaScript, the schemas and the migrations; no compiler, no tsx.
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY schemas ./schemas
COPY migrations ./migrations
COPY --from=build /app/dist/src ./dist/src
# Everything above belongs to root and is read-only for the process; it runs as the image's `node` user.
USER node
ENTRYPOINT ["node", "/app/bin/pipeline.js"]
CMD ["consume"]
