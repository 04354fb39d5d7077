//! vSphere tools run by the `FileOp` family.

use super::*;

/// Files in the guest OS, and console screenshots.
pub(super) fn guest_files() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        tool(Spec {
            name: "vsphere_read_guest_file",
            title: "Read guest file",
            description: "Read a file from the guest OS (at most 4 MiB): UTF-8 text as is, anything else as base64.",
            category: "guest",
            tier: Admin,
            target: T::VirtualMachine,
            op: Op::File(FileOp::ReadGuestFile),
        })
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH]),
        tool(Spec {
            name: "vsphere_write_guest_file",
            title: "Write guest file",
            description: "Write a file into the guest OS (at most 4 MiB); an existing file is replaced only with overwrite=true.",
            category: "guest",
            tier: Admin,
            target: T::VirtualMachine,
            op: Op::File(FileOp::WriteGuestFile),
        })
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH, CONTENT, ENCODING, OVERWRITE]),
        tool(Spec {
            name: "vsphere_vm_screenshot",
            title: "VM screenshot",
            description: "Capture the VM's console as a PNG image.",
            category: "monitoring",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::File(FileOp::Screenshot),
        })
        .params(&[VM]),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}

/// Datastore files: upload, download, delete, folders, move and copy.
pub(super) fn datastore_files() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        tool(Spec {
            name: "vsphere_upload_to_datastore",
            title: "Upload to datastore",
            description: "Write a file (at most 4 MiB, given in the call) into a datastore; an existing file is replaced only with overwrite=true.",
            category: "datastore",
            tier: Change,
            target: T::Datastore,
            op: Op::File(FileOp::UploadToDatastore),
        })
        .params(&[DATASTORE, DS_FILE, CONTENT, ENCODING, OVERWRITE]),
        tool(Spec {
            name: "vsphere_download_from_datastore",
            title: "Download from datastore",
            description: "Read a file (at most 4 MiB) from a datastore: UTF-8 text as is, anything else as base64.",
            category: "datastore",
            tier: Read,
            target: T::Datastore,
            op: Op::File(FileOp::DownloadFromDatastore),
        })
        .params(&[DATASTORE, DS_FILE]),
        tool(Spec {
            name: "vsphere_delete_datastore_file",
            title: "Delete datastore file",
            description: "Delete a file or a folder (with everything in it) from a datastore.",
            category: "datastore",
            tier: Change,
            target: T::Datastore,
            op: Op::File(FileOp::DeleteDatastoreFile),
        })
        .params(&[DATASTORE, DS_ENTRY])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_create_datastore_folder",
            title: "Create datastore folder",
            description: "Create a folder in a datastore.",
            category: "datastore",
            tier: Change,
            target: T::Datastore,
            op: Op::File(FileOp::MakeDatastoreFolder),
        })
        .params(&[DATASTORE, DS_NEW_FOLDER]),
        tool(Spec {
            name: "vsphere_move_datastore_file",
            title: "Move datastore file",
            description: "Move or rename a file or folder, within a datastore or to another one of the same datacenter; what is at the destination is replaced only with overwrite=true.",
            category: "datastore",
            tier: Change,
            target: T::Datastore,
            op: Op::File(FileOp::MoveDatastoreFile),
        })
        .params(&[DATASTORE, DS_ENTRY, DEST_DATASTORE, DEST_PATH, REPLACE])
        .destructive_if(REPLACING)
        .task(),
        tool(Spec {
            name: "vsphere_copy_datastore_file",
            title: "Copy datastore file",
            description: "Copy a file or folder, within a datastore or to another one of the same datacenter; what is at the destination is replaced only with overwrite=true.",
            category: "datastore",
            tier: Change,
            target: T::Datastore,
            op: Op::File(FileOp::CopyDatastoreFile),
        })
        .params(&[DATASTORE, DS_ENTRY, DEST_DATASTORE, DEST_PATH, REPLACE])
        .destructive_if(REPLACING)
        .task(),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
