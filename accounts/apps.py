from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Agencies and roles"

    def ready(self) -> None:
        # Imported here: the receivers read the models, loaded after the apps.
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from . import signin_audit

        user_logged_in.connect(signin_audit.signed_in, dispatch_uid="docket-audit-sign-in")
        user_logged_out.connect(signin_audit.signed_out, dispatch_uid="docket-audit-sign-out")
        user_login_failed.connect(
            signin_audit.sign_in_failed, dispatch_uid="docket-audit-sign-in-failed"
        )
