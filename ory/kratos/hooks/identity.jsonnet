// Body of the after-registration and after-settings web hooks (API.md §3.12).
function(ctx) {
  identity: {
    id: ctx.identity.id,
    traits: ctx.identity.traits,
  },
}
