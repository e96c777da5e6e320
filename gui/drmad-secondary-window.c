/* Escape and Ctrl+W for the windows the main window opens, and the focus
 * given back as they go. */
#include "drmad-secondary-window.h"

/* A window manager gives the focus back to the parent of the transient
 * window that goes; without one (a bare X server, as under Xvfb) or where
 * it leaves that to the application, the focus went nowhere and the keys
 * reached no window until a click. Only a window that had the focus gives
 * it back: one closed from elsewhere (another Compare replacing a loading
 * one, the main window closing) takes nothing from the window in use. */
static void
on_unmap (GtkWidget *widget, gpointer unused)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (widget));
  if (parent && gtk_window_is_active (GTK_WINDOW (widget)) && gtk_widget_get_mapped (GTK_WIDGET (parent)))
    gtk_window_present (parent);
}

void
drmad_secondary_window_setup (GtkWindow *window, gboolean escape)
{
  g_return_if_fail (GTK_IS_WINDOW (window));
  GtkEventController *keys = gtk_shortcut_controller_new ();
  GtkShortcutController *shortcuts = GTK_SHORTCUT_CONTROLLER (keys);
  gtk_shortcut_controller_add_shortcut (shortcuts, gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_w, GDK_CONTROL_MASK),
                                                                     gtk_named_action_new ("window.close")));
  if (escape)
    gtk_shortcut_controller_add_shortcut (shortcuts, gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Escape, 0),
                                                                       gtk_named_action_new ("window.close")));
  gtk_widget_add_controller (GTK_WIDGET (window), keys);
  g_signal_connect (window, "unmap", G_CALLBACK (on_unmap), NULL);
}
