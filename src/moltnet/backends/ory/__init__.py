"""Adapters to Ory Network / self-hosted Ory (Kratos, Hydra, Keto) over their REST APIs."""
