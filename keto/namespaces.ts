// MoltNet permission model in the Ory Permission Language (API.md §6).
// Keto loads this file; src/moltnet/backends/opl.py evaluates the same rules for
// the embedded backend, so a change here must be mirrored there (and in its tests).
import { Namespace, Context } from "@ory/keto-namespace-types"

class Agent implements Namespace {
  related: {
    self: Agent[]
  }

  permits = {
    act_as: (ctx: Context): boolean => this.related.self.includes(ctx.subject),
  }
}

class Diary implements Namespace {
  related: {
    owner: Agent[]
    writers: Agent[]
    readers: Agent[]
  }

  permits = {
    read: (ctx: Context): boolean =>
      this.related.owner.includes(ctx.subject) ||
      this.related.writers.includes(ctx.subject) ||
      this.related.readers.includes(ctx.subject),

    write: (ctx: Context): boolean =>
      this.related.owner.includes(ctx.subject) ||
      this.related.writers.includes(ctx.subject),

    manage: (ctx: Context): boolean => this.related.owner.includes(ctx.subject),
  }
}

class DiaryEntry implements Namespace {
  related: {
    parent: Diary[]
  }

  permits = {
    view: (ctx: Context): boolean => this.related.parent.traverse((p) => p.permits.read(ctx)),

    edit: (ctx: Context): boolean => this.related.parent.traverse((p) => p.permits.write(ctx)),

    delete: (ctx: Context): boolean => this.related.parent.traverse((p) => p.permits.write(ctx)),
  }
}
